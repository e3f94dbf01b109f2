"""Data sources, checks on what they read, the download path, and preprocessing."""

import hashlib
import http.server
import threading
from functools import partial

import numpy as np
import pytest
import torch

from vaekit import DataConfig, VaekitError, load_dataset, prepare
from vaekit.data import Batches, binarize, dequantize, read_idx
from vaekit.data.draws import binarize_levels
from vaekit.data.download import Remote, fetch
from vaekit.data.idx import MNIST, load_idx_dataset

from conftest import write_idx


def test_digits_is_embedded_as_17_grey_levels():
    d = load_dataset("digits")
    assert d.train.shape == (1437, 1, 8, 8) and d.test.shape == (360, 1, 8, 8)
    assert d.train.dtype == np.uint8 and d.train.min() == 0 and d.train.max() == 16
    assert d.event_shape == (1, 8, 8) and d.levels == 17 and d.is_image
    unit = d.unit(d.train)
    assert unit.dtype == np.float32 and unit.max() == 1.0 and unit.min() == 0.0
    assert set(np.unique(d.train_labels)) == set(range(10))


def test_unknown_dataset_name():
    with pytest.raises(VaekitError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")


def test_idx_round_trip_and_corruptions(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "ok.gz", a)), a)
    good = (tmp_path / "ok.gz").read_bytes()
    (tmp_path / "trunc.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(VaekitError, match="not a complete gzip"):
        read_idx(tmp_path / "trunc.gz")
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(VaekitError, match="not a complete gzip"):
        read_idx(tmp_path / "plain.gz")
    import gzip
    (tmp_path / "magic.gz").write_bytes(gzip.compress(b"\x12\x34\x08\x01" + bytes(8)))
    with pytest.raises(VaekitError, match="bad magic"):
        read_idx(tmp_path / "magic.gz")
    (tmp_path / "short.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2])))
    with pytest.raises(VaekitError, match="body holds 2 bytes"):
        read_idx(tmp_path / "short.gz")
    with pytest.raises(VaekitError, match="no such file"):
        read_idx(tmp_path / "missing.gz")


def test_local_folder_override(fake_mnist, monkeypatch):
    monkeypatch.setenv("VAEKIT_MNIST_DIR", str(fake_mnist))
    d = load_dataset("mnist")
    assert d.train.shape == (40, 1, 28, 28) and d.test.shape == (20, 1, 28, 28)
    assert d.levels == 256 and d.train.dtype == np.uint8


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def http_server(fake_mnist):
    """Serve the fake MNIST folder on 127.0.0.1 (an ephemeral port); count the requests."""
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            hits.append(self.path)

    handler = partial(Handler, directory=str(fake_mnist))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", fake_mnist, hits
    server.shutdown()
    server.server_close()


def test_download_verifies_checksums_and_caches(http_server, tmp_path):
    url, folder, hits = http_server
    remote = Remote("fake", url, {f.name: _md5(f) for f in sorted(folder.iterdir())})
    d = load_idx_dataset(remote, directory=tmp_path / "cache")
    assert d.train.shape == (40, 1, 28, 28)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(remote.md5)
    n = len(hits)
    load_idx_dataset(remote, directory=tmp_path / "cache")   # cached: no new requests
    assert len(hits) == n


def test_download_refuses_a_file_with_the_wrong_checksum(http_server, tmp_path):
    url, _, _ = http_server
    # the real MNIST checksums do not match the fake files served here
    with pytest.raises(VaekitError, match="failed its checksum"):
        fetch(MNIST, base_url=url, directory=tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("*.gz"))


def test_download_failure_is_one_clear_error(tmp_path):
    remote = Remote("gone", "http://127.0.0.1:9/", {"a.gz": "0" * 32})  # discard port
    with pytest.raises(VaekitError, match="could not download a.gz"):
        fetch(remote, directory=tmp_path)


@pytest.mark.parametrize("array, message", [
    (np.full((5, 4), np.nan, dtype=np.float32), "NaN"),
    (np.ones((5, 2, 2, 2), dtype=np.float32), "not \\[N, D\\]"),
    (np.ones((5, 2, 2, 2, 2), dtype=np.float32), "not \\[N, D\\]"),
    (np.ones((5, 4), dtype=np.complex64), "not numeric"),
    (np.array([["a", "b"]]), "not numeric"),
    (np.zeros((0, 4), dtype=np.float32), "empty"),
    (np.full((5, 4), 3.0, dtype=np.float32), "outside \\[0, 1\\]"),
    (np.full((5, 4), 300, dtype=np.int32), "integer dtype"),
])
def test_bad_user_arrays(tmp_path, array, message):
    path = tmp_path / "x.npy"
    np.save(path, array)
    with pytest.raises(VaekitError, match=message):
        load_dataset(str(path))


def test_user_arrays_npy_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "u8.npy", grey)
    d = load_dataset(str(tmp_path / "u8.npy"))
    assert d.train.shape == (45, 1, 6, 6) and d.test.shape == (5, 1, 6, 6) and d.levels == 256
    assert d.event_shape == (1, 6, 6) and d.train.dtype == np.uint8
    np.savez(tmp_path / "p.npz", train=rng.random((20, 3)), test=rng.random((4, 3)))
    d = load_dataset(str(tmp_path / "p.npz"))
    assert d.train.shape == (20, 3) and d.test.shape == (4, 3) and d.levels is None
    np.savez(tmp_path / "bad.npz", data=rng.random((20, 3)))
    with pytest.raises(VaekitError, match="named 'train'"):
        load_dataset(str(tmp_path / "bad.npz"))
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(VaekitError):
        load_dataset(str(tmp_path / "junk.npy"))
    with pytest.raises(VaekitError, match="no such file"):
        load_dataset(str(tmp_path / "nope.npy"))


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_colour_arrays_keep_their_channels(tmp_path, layout):
    rng = np.random.default_rng(1)
    nchw = rng.integers(0, 256, (30, 3, 5, 7), dtype=np.uint8)
    train = nchw.transpose(0, 2, 3, 1) if layout == "NHWC" else nchw
    np.savez(tmp_path / "c.npz", train=train, test=train[:4],
             train_labels=np.arange(30), test_labels=np.arange(4))
    d = load_dataset(str(tmp_path / "c.npz"))
    assert d.event_shape == (3, 5, 7) and d.levels == 256
    assert np.array_equal(d.train, nchw) and np.array_equal(d.test, nchw[:4])
    floats = (nchw / 255.0).astype(np.float32).transpose(0, 2, 3, 1)
    np.save(tmp_path / "f.npy", floats)
    d = load_dataset(str(tmp_path / "f.npy"))
    assert d.event_shape == (3, 5, 7) and d.levels is None and d.train.dtype == np.float32
    np.savez(tmp_path / "mixed.npz", train=train, test=nchw[:4, :, :4])       # H 4, not 5
    with pytest.raises(VaekitError, match="test examples have shape"):
        load_dataset(str(tmp_path / "mixed.npz"))


def test_binarization_is_dynamic_for_training_and_fixed_for_evaluation():
    x = torch.full((2000, 10), 0.3)
    g = torch.Generator().manual_seed(0)
    a, b = binarize(x, g), binarize(x, g)
    assert a.dtype == torch.float32 and set(a.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(a, b) and abs(a.mean().item() - 0.3) < 0.01
    s1 = prepare(DataConfig("digits"), "bernoulli")
    s2 = prepare(DataConfig("digits"), "bernoulli")
    assert torch.equal(s1.test, s2.test) and torch.equal(s1.valid, s2.valid)
    assert set(torch.unique(s1.test).tolist()) == {0.0, 1.0}
    assert len(s1.train) + len(s1.valid) == 1437
    assert s1.train.dtype == np.uint8 and s1.test.shape[1:] == (1, 8, 8)
    batches = Batches(s1.train[:64], 64, "binarize", 17, 0)
    first, second = next(iter(batches)), next(iter(batches))
    assert first.shape == (64, 1, 8, 8) and not torch.equal(first, second)


@pytest.mark.parametrize("levels", [2, 17, 256])
def test_byte_binarization_is_exact_bernoulli_of_the_grey_level(levels):
    m = levels - 1
    k = np.tile(np.arange(levels, dtype=np.uint8), (20_000, 1))       # every level, many times
    b = binarize_levels(torch.from_numpy(k), m, torch.Generator().manual_seed(0)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert (b[:, 0] == 0).all() and (b[:, -1] == 1).all()             # p = 0 and p = 1 exactly
    p = k[0] / m
    se = np.sqrt(p * (1 - p) / len(k))
    assert (np.abs(b.mean(0) - p) <= 4 * se + 1e-12).all()


def test_batches_binarize_grey_levels_exactly_from_bytes():
    x = np.full((4000, 3), 100, dtype=np.uint8)
    b = Batches(x, 4000, "binarize", 256, torch.Generator().manual_seed(0))
    batch = next(iter(b))
    assert batch.dtype == torch.float32 and set(batch.unique().tolist()) == {0.0, 1.0}
    # the same draws as binarize_levels on the bytes, from the same generator after the shuffle
    g = torch.Generator().manual_seed(0)
    torch.randperm(4000, generator=g)
    assert torch.equal(batch, binarize_levels(torch.from_numpy(x), 255, g))
    assert abs(batch.mean().item() - 100 / 255) < 4 * np.sqrt(0.4 * 0.6 / 12000)


def test_dequantization_stays_in_its_grey_level_bin():
    levels = 17
    k = np.tile(np.arange(levels, dtype=np.uint8), (100, 1))
    y = dequantize(torch.from_numpy(k), levels, torch.Generator().manual_seed(0)).numpy()
    assert ((y >= k / levels) & (y < (k + 1) / levels)).all()
    none = Batches(k, 100, "none", levels, 0)
    assert np.allclose(np.sort(next(iter(none)).numpy(), 0), k / (levels - 1))
    s = prepare(DataConfig("digits"), "gaussian")
    assert s.preprocess == "dequantize" and 0 <= s.test.min() and s.test.max() < 1


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


def test_one_cache_folder_for_downloads_and_classifiers(monkeypatch, tmp_path):
    from vaekit import fid
    from vaekit.data import download
    assert fid.cache_dir is download.cache_dir
    monkeypatch.delenv("VAEKIT_CACHE", raising=False)
    monkeypatch.setenv("VAEKIT_DATA", str(tmp_path / "old"))       # the name before 0.4
    assert download.cache_dir() == tmp_path / "old"
    monkeypatch.setenv("VAEKIT_CACHE", str(tmp_path / "new"))      # wins when both are set
    assert download.cache_dir() == tmp_path / "new"
