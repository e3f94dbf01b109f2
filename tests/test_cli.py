"""The command line: a short end-to-end run, and bad input giving one line and exit 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vaekit.cli import main

from conftest import write_fake_mnist

TINY = ["--epochs", "2", "--latent-dim", "4", "--encoder-hidden", "16",
        "--decoder-hidden", "16", "--eval-k", "20", "--eval-n", "10", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--runs", str(runs), "--name", "demo", *TINY]) == 0
    return runs / "demo"


def test_train_writes_a_complete_run(run, capsys):
    assert (run / "samples.png").stat().st_size > 0
    assert (run / "reconstructions.png").stat().st_size > 0
    assert json.loads((run / "metrics.json").read_text())["dataset"] == "digits"


def test_evaluate_sample_reconstruct(run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run), "--k", "30", "--n", "12", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["nll_k"] == 30 and result["nll_n"] == 12 and result["n"] == 12
    assert "active_units" in capsys.readouterr().out
    assert main(["sample", str(run), "--n", "9", "--ncol", "3", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["reconstruct", str(run), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "s.png").is_file() and (tmp_path / "r.png").is_file()


def test_resume_extends_a_finished_run(run):
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3]


def vaekit(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "vaekit", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120, cwd=cwd)


def _bad_inputs(tmp_path, run):
    np.save(tmp_path / "nan.npy", np.full((20, 4), np.nan, dtype=np.float32))
    np.save(tmp_path / "f64big.npy", np.full((20, 4), 7.0))
    np.save(tmp_path / "shape.npy", np.zeros((3, 2, 2, 2), dtype=np.float32))
    np.save(tmp_path / "str.npy", np.array(["a", "b"]))
    trunc = write_fake_mnist(tmp_path / "trunc")
    f = trunc / "train-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:200])
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "meta.json").write_text("{")
    flipped = tmp_path / "flipped"
    import shutil
    shutil.copytree(run / "best", flipped)
    data = bytearray((flipped / "model.safetensors").read_bytes())
    data[-3] ^= 0xFF
    (flipped / "model.safetensors").write_bytes(bytes(data))
    return [
        (["train", "--dataset", str(tmp_path / "missing.npy")], None, "no such file"),
        (["train", "--dataset", "imagenet"], None, "unknown dataset"),
        (["train", "--dataset", str(tmp_path / "nan.npy")], None, "NaN"),
        (["train", "--dataset", str(tmp_path / "f64big.npy")], None, "outside [0, 1]"),
        (["train", "--dataset", str(tmp_path / "shape.npy")], None, "is not [N, D]"),
        (["train", "--dataset", str(tmp_path / "str.npy")], None, "not numeric"),
        (["train", "--dataset", "mnist"], {"VAEKIT_MNIST_DIR": str(trunc)}, "not a complete gzip"),
        (["train", "--likelihood", "poisson"], None, "unknown likelihood"),
        (["train", "--epochs", "0"], None, "epochs must be >= 1"),
        (["train", "--encoder-hidden", "a,b"], None, "comma-separated integers"),
        (["evaluate", str(broken)], None, "corrupt checkpoint metadata"),
        (["evaluate", str(flipped)], None, "checksum does not match"),
        (["evaluate", str(tmp_path / "no-run")], None, "no such run"),
        (["sample", str(run), "--n", "0"], None, "--n must be >= 1"),
        (["train", "--runs", str(run.parent), "--name", run.name], None, "already holds a run"),
    ]


def test_bad_input_gives_one_line_and_nonzero_exit(run, tmp_path):
    before = {p: p.read_bytes() for p in run.rglob("*.safetensors")}
    for args, env, message in _bad_inputs(tmp_path, run):
        r = vaekit(*args, env=env)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr, args
        assert len(lines) == 1 and message in lines[0], (args, r.stderr)
    assert before == {p: p.read_bytes() for p in run.rglob("*.safetensors")}


def test_help_for_every_command():
    for cmd in ("train", "evaluate", "sample", "reconstruct", "traverse"):
        r = vaekit(cmd, "--help")
        assert r.returncode == 0 and "usage: vaekit" in r.stdout
