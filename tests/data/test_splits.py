"""Splits and their preprocessing (data/splits.py): the fixed numpy stream of the evaluation
splits, read-only arrays, and the preprocessing a discrete likelihood refuses."""

import numpy as np
import torch

from vaekit import DataConfig, load_dataset, prepare
from vaekit.cli import main
from vaekit.data import binarize


def test_fixed_preprocessing_of_a_split_is_the_numpy_stream_vaekit_always_drew():
    """Validation and test splits: uniforms from numpy's default_rng(seed + 1 / + 2), compared
    with k / (L - 1) for binarization, added to k for dequantization; so test sets (and the
    NLLs reported on them) are the same as in earlier versions."""
    d = load_dataset("digits")
    unit = d.test.astype(np.float32) / np.float32(16)
    u = np.random.default_rng(5 + 2).random(d.test.shape, dtype=np.float32)
    s = prepare(DataConfig("digits", seed=5), "bernoulli")
    assert np.array_equal(s.test.numpy(), (u < unit).astype(np.float32))
    s = prepare(DataConfig("digits", seed=5), "gaussian")
    assert np.array_equal(s.test.numpy(), (d.test.astype(np.float32) + u) / 17)
    k = d.test[:50]              # numpy arrays and numpy generators go through the same code
    assert torch.equal(binarize(k / 16.0, np.random.default_rng(1)),
                       binarize(torch.from_numpy(k / 16.0), np.random.default_rng(1)))


def test_read_only_arrays_are_preprocessed_without_a_warning(recwarn):
    d = load_dataset("digits")
    test = d.test.copy()
    test.setflags(write=False)                    # as IDX files parsed from bytes are
    assert np.array_equal(d.unit(test), d.unit(d.test))
    s = prepare(DataConfig("digits"), "bernoulli",
                dataset=type(d)("ro", d.train, test, d.train_labels, d.test_labels, 17))
    assert torch.equal(s.test, prepare(DataConfig("digits"), "bernoulli").test)
    assert not [w for w in recwarn if "writable" in str(w.message)]


def test_continuous_data_are_refused_with_one_line(tmp_path, capsys):
    path = tmp_path / "floats.npy"
    np.save(path, np.random.default_rng(0).random((40, 3, 8, 8)).astype(np.float32))
    assert main(["train", "--dataset", str(path), "--likelihood", "dgaussian",
                 "--epochs", "1", "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "integer levels" in err[0] and "continuous" in err[0]


def test_no_dequantization_for_a_discrete_likelihood(capsys):
    assert main(["train", "--dataset", "photo-patches", "--likelihood", "dlogistic-mix",
                 "--preprocess", "dequantize", "--epochs", "1"]) == 2
    assert "drop --preprocess dequantize" in capsys.readouterr().err


def test_label_problems_are_named_before_any_training():
    import pytest
    from vaekit.data import Dataset
    from vaekit.data.splits import check_classes
    from vaekit.errors import VaekitError
    x = np.zeros((40, 4), dtype=np.float32)
    unlabelled = Dataset("mine", x, x[:5], None, None, None)
    with pytest.raises(VaekitError, match="a .npz needs a 'train_labels' array"):
        prepare(DataConfig(dataset="mine.npz", labels=10), "continuous", unlabelled)
    with pytest.raises(VaekitError, match=r"--classes 5 is fewer \(give --classes 10\)"):
        check_classes(np.arange(10), 5)
    check_classes(np.arange(10), 10)
    with pytest.raises(VaekitError, match="fewer than the 10 classes"):
        prepare(DataConfig(labels=5))
    with pytest.raises(VaekitError, match="more than the 1293 training examples"):
        prepare(DataConfig(labels=2000))
