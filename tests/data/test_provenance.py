"""Which data a run was trained on (data/provenance.py, Dataset.fingerprint): a run trained on a
path given relative to one folder works from any other, names data that changed since, refuses
data that moved in one line, and takes --dataset for their new place."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vaekit import VaekitError
from vaekit.cli import main
from vaekit.config import DataConfig
from vaekit.data import Dataset, load_dataset
from vaekit.data.provenance import absolute, check, locate

TINY = ["--epochs", "1", "--latent-dim", "2", "--encoder-hidden", "8", "--decoder-hidden", "8",
        "--eval-k", "5", "--eval-n", "5", "--no-progress"]
EVAL = ["--k", "5", "--n", "5"]
V03 = Path(__file__).parents[1] / "fixtures" / "v0.3-runs" / "gaussian-mlp"


def _dataset(seed=0, labels=True, name="d"):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (10, 1, 4, 4), dtype=np.uint8)
    y = np.arange(10) % 2 if labels else None
    return Dataset(name, x[:8], x[8:], None if y is None else y[:8],
                   None if y is None else y[8:], 256)


def test_the_fingerprint_is_the_data_not_their_name():
    d = _dataset()
    assert d.fingerprint == _dataset(name="elsewhere").fingerprint and len(d.fingerprint) == 64
    changed = _dataset()
    changed.test[0, 0, 0, 0] ^= 1
    relabelled = _dataset()
    relabelled.train_labels[0] = 1 - relabelled.train_labels[0]
    fewer_levels = Dataset("d", d.train >> 4, d.test >> 4, d.train_labels, d.test_labels, 16)
    moved = Dataset("d", d.test, d.train, d.test_labels, d.train_labels, 256)   # other split
    others = [changed, relabelled, fewer_levels, moved, _dataset(labels=False), _dataset(1)]
    assert len({d.fingerprint, *(o.fingerprint for o in others)}) == 1 + len(others)
    strided = Dataset("d", np.asfortranarray(d.train), d.test, d.train_labels, d.test_labels,
                      256)
    assert strided.fingerprint == d.fingerprint


def test_a_path_is_stored_absolute_and_a_name_as_it_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "x.npy", np.zeros((4, 3), np.float32))
    assert absolute("sub/../sub/x.npy") == str((tmp_path / "sub" / "x.npy").resolve())
    assert absolute("sub") == str((tmp_path / "sub").resolve())
    assert absolute("digits") == "digits" and absolute("missing.npy") == "missing.npy"


def test_data_that_are_gone_are_one_line_naming_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert locate(DataConfig("digits")) == DataConfig("digits")
    gone = str(tmp_path / "icons")
    with pytest.raises(VaekitError, match=f"{gone}, are no longer there .*--dataset PATH"):
        locate(DataConfig(gone, image_size=8))
    with pytest.raises(VaekitError, match="relative to the folder they were trained from"):
        locate(DataConfig("../icons", image_size=8))          # a run before 0.4
    (tmp_path / "icons").write_text("a file now")
    with pytest.raises(VaekitError, match="are no longer a folder"):
        locate(DataConfig(gone, image_size=8))
    assert locate(DataConfig(gone, image_size=8), "x.npy").image_size is None
    assert locate(DataConfig(gone, image_size=8), str(tmp_path)).image_size == 8


def test_a_missing_folder_is_not_called_an_image_size_problem(tmp_path):
    with pytest.raises(VaekitError, match="icons: no such file or folder"):
        load_dataset(str(tmp_path / "icons"), image_size=8)
    with pytest.raises(VaekitError, match="--image-size is for image folders; 'digits'"):
        load_dataset("digits", image_size=8)


def test_a_difference_is_one_line_and_nothing_recorded_says_nothing(capsys):
    d, other = _dataset(), _dataset(1)
    check(None, d, "x")
    check(d.fingerprint, d, "x")
    assert capsys.readouterr().err == ""
    check(d.fingerprint, other, "/data/x.npy")
    err = capsys.readouterr().err
    assert err.startswith("vaekit: warning: the data at /data/x.npy differ") and \
        f"{other.fingerprint[:12]}, trained on {d.fingerprint[:12]}" in err
    check(d.fingerprint, other, "y.npy", chosen=True)
    assert capsys.readouterr().err.startswith("vaekit: note: using y.npy, not the data")


# through the command line: a run trained from one folder, used from another

def _icons(folder: Path, n=20):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).save(
            folder / f"i{i:02d}.png")
    return folder


def _train(cwd: Path, dataset: str, *extra) -> Path:
    """Train from `cwd` on `dataset` as typed there; the run folder."""
    code = main(["train", "--dataset", dataset, "--runs", str(cwd / "runs"), "--name", "r",
                 *TINY, *extra])
    assert code == 0
    return cwd / "runs" / "r"


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_an_image_folder_run_works_from_anywhere_and_names_changed_data(tmp_path, monkeypatch,
                                                                         capsys):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    icons = _icons(work / "icons")
    elsewhere.mkdir()
    monkeypatch.chdir(work)
    run = _train(work, "icons", "--image-size", "4")
    assert f'dataset = "{icons.resolve()}"' in (run / "config.toml").read_text()
    meta = json.loads((run / "best" / "meta.json").read_text())
    assert len(meta["data_fingerprint"]) == 64
    monkeypatch.chdir(elsewhere)            # the path as typed ("icons") means nothing here
    capsys.readouterr()
    assert main(["evaluate", str(run), *EVAL]) == 0
    assert main(["reconstruct", str(run), "--n", "2", "--out", "r.png"]) == 0
    err = capsys.readouterr().err       # (the resize is announced)
    assert "warning" not in err and "error" not in err, err
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(icons / "i03.png")   # the data change
    assert main(["evaluate", str(run), *EVAL]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warned) == 1 and warned[0].startswith(
        f"vaekit: warning: the data at {icons.resolve()} differ from the data this run was "
        "trained on (fingerprint "), warned


def test_moved_data_are_refused_in_one_line_and_dataset_finds_them(tmp_path, monkeypatch,
                                                                   capsys):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).integers(0, 2, (40, 6)).astype(bool)
    np.save(tmp_path / "d.npy", x)
    run = _train(tmp_path, "d.npy")
    shutil.move(tmp_path / "d.npy", tmp_path / "moved.npy")
    capsys.readouterr()
    assert main(["evaluate", str(run), *EVAL]) == 2
    err = _one_line(capsys)
    assert f"{tmp_path.resolve() / 'd.npy'}, are no longer there" in err and "--dataset PATH" in err
    assert main(["evaluate", str(run), *EVAL, "--dataset", "moved.npy"]) == 0
    assert main(["compare", str(run), "--no-fid", "--n", "4", "--out", "cmp",
                 "--dataset", "moved.npy"]) == 0
    assert capsys.readouterr().err == ""    # the same data: nothing to say
    np.save(tmp_path / "other.npy", ~x)
    assert main(["evaluate", str(run), *EVAL, "--dataset", "other.npy"]) == 0
    assert _one_line(capsys).startswith("vaekit: note: using other.npy, not the data this run "
                                        "was trained on")


def test_resuming_on_changed_data_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).integers(0, 2, (40, 6)).astype(bool)
    np.save(tmp_path / "d.npy", x)
    run = _train(tmp_path, "d.npy")
    np.save(tmp_path / "d.npy", ~x)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    assert "training goes on with the data as they are now" in capsys.readouterr().err


def test_a_run_before_0_4_loads_without_a_fingerprint(capsys):
    assert main(["evaluate", str(V03), *EVAL]) == 0
    assert "fingerprint" not in capsys.readouterr().err
