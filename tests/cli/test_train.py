"""`vaekit train` (cli/train.py): a short run, resuming a finished run, and posterior collapse
named."""

import json

import pytest

from vaekit.cli import main
from vaekit.cli.train import collapse_note

from test_config_file import TINY, train


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


def test_resume_extends_a_finished_run(run):
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3]


def test_posterior_collapse_is_named(tmp_path, capsys):
    capsys.readouterr()
    train(tmp_path, "collapsed", *TINY, "--beta", "20", "--epochs", "4")
    out = capsys.readouterr().out
    assert "posterior collapse" in out and "--free-bits" in out and "--warmup-epochs" in out
    healthy = {"kl": 12.0, "active_units": 9, "latent_dim": 10}
    assert collapse_note(healthy) is None
    assert "posterior collapse" in collapse_note({**healthy, "kl": 0.01})
    assert "0/10 active" in collapse_note({**healthy, "active_units": 0})


@pytest.mark.parametrize("labels", [
    ["--labels", "100", "--classes", "5"],       # labels 0..9 of digits do not fit 5 classes
    ["--labels", "5"],                           # fewer labelled examples than classes
    ["--labels", "100000"],                      # more than the training examples
])
def test_a_label_problem_leaves_no_run_folder(tmp_path, capsys, labels):
    code = main(["train", "--runs", str(tmp_path), "--name", "m2", "--latent", "joint",
                 *labels, *TINY])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "m2").exists() and not any(tmp_path.iterdir())


def test_labels_on_unlabelled_data_is_one_line(tmp_path, capsys):
    import numpy as np
    np.savez(tmp_path / "x.npz", train=np.zeros((30, 4), dtype=np.float32))
    code = main(["train", "--dataset", str(tmp_path / "x.npz"), "--runs", str(tmp_path / "r"),
                 "--latent", "joint", "--labels", "10", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "a .npz needs a 'train_labels' array" in err, err
    assert not (tmp_path / "r").exists()
