"""Configuration files and resumed runs through the command line: a run repeated from its own
config.toml, options overriding a file, bad keys and values, what --resume may change, and the
training speed a command reports."""

import json
import math
import re

import pytest
from safetensors.numpy import load_file

from vaekit import config_file
from vaekit.cli import main

from conftest import answer

TINY = ["--epochs", "2", "--latent-dim", "4", "--encoder-hidden", "16",
        "--decoder-hidden", "16", "--eval-k", "20", "--eval-n", "10", "--no-progress"]


def train(runs, name, *args):
    assert main(["train", "--runs", str(runs), "--name", name, *args]) == 0
    return runs / name


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs"), "first", *TINY, "--beta", "0.5")


def weights(run):
    return load_file(str(run / "best" / "model.safetensors"))


def test_a_run_repeated_from_its_config_toml_gives_the_same_weights(first, tmp_path):
    saved = config_file.read(first / "config.toml")
    assert saved["beta"] == 0.5 and saved["model"]["latent"]["dim"] == 4
    assert saved["model"]["network"]["encoder_hidden"] == [16]
    again = train(tmp_path, "again", "--config", str(first / "config.toml"), "--no-progress")
    a, b = weights(first), weights(again)
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    other = train(tmp_path, "other", "--config", str(first / "config.toml"), "--seed", "1",
                  "--no-progress")
    assert any((a[k] != weights(other)[k]).any() for k in a)     # the comparison can fail


def test_options_override_the_file(tmp_path, capsys):
    path = tmp_path / "small.toml"
    path.write_text('epochs = 7\nlr = 0.002\n[model.latent]\nname = "gaussian"\ndim = 8\n'
                    '[data]\ndataset = "digits"\n')
    capsys.readouterr()
    assert main(["train", "--config", str(path), "--latent-dim", "3", "--print-config"]) == 0
    printed = config_file.tomllib.loads(capsys.readouterr().out)
    assert printed["model"]["latent"]["dim"] == 3             # the option
    assert printed["epochs"] == 7 and printed["lr"] == 0.002  # the file
    assert printed["batch_size"] == 128                       # the default
    assert not (tmp_path / "runs").exists()                   # --print-config trains nothing


@pytest.mark.parametrize("text, message", [
    ('[model.latent]\nname = "gaussian"\ndimm = 3\n', "unknown key model.latent.dimm"),
    ('epochz = 3\n', "unknown key epochz"),
    ('lr = "fast"\n', "lr must be a finite number, got 'fast'"),
    ('beta = inf\n', "beta must be a finite number, got inf"),
    ('[model.network]\nname = "mlp"\nencoder_hidden = 200\n', "model.network.encoder_hidden"),
    ('[data]\nbits = "five"\n', "data.bits must be an integer"),
    ('epochs = 3\nepochs = 4\n', "not valid TOML"),
])
def test_a_bad_key_or_value_in_the_file_is_one_line_naming_it(tmp_path, monkeypatch, capsys,
                                                              text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, err = answer(["train", "--config", str(path), "--runs", str(tmp_path)], None,
                       monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message in err and str(path) in err, err


@pytest.mark.parametrize("args, key", [
    (["--latent-dim", "8"], "model.latent.dim is 4"),
    (["--objective", "iwae", "--k", "5"], "k is 1"),
    (["--beta", "1"], "beta is 0.5"),
    (["--network", "conv"], "model.network"),
    (["--dataset", "fashion-mnist"], "data.dataset is 'digits'"),
    (["--batch-size", "64"], "batch_size is 128"),
])
def test_resume_refuses_a_changed_model_data_or_objective(first, monkeypatch, capsys, args, key):
    before = (first / "metrics.jsonl").read_text()
    code, err = answer(["train", "--resume", str(first), *args], None, monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and key in err, err
    assert (first / "metrics.jsonl").read_text() == before


def test_resume_may_change_the_schedule_and_logs_it(tmp_path, capsys):
    run = train(tmp_path, "r", *TINY)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--lr", "0.0005",
                 "--eval-k", "10", "--no-progress"]) == 0
    said = capsys.readouterr()            # an event on stderr, not among the output
    assert "resumed with epochs 2 -> 3" in said.err and "resumed with" not in said.out
    events = [json.loads(l) for l in (run / "events.jsonl").read_text().splitlines()]
    changes = events[-1]["changes"]
    assert events[-1]["event"] == "resumed_with_changes"
    assert changes["epochs"] == [2, 3] and changes["lr"] == [0.001, 0.0005]
    log = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in log] == [0.001, 0.001, 0.0005]
    saved = config_file.read(run / "config.toml")
    assert saved["epochs"] == 3 and saved["lr"] == 0.0005 and saved["eval_k"] == 10


def speed(out: str) -> float:
    found = re.search(r"training speed ([\d,]+) examples/s over the (\d+) training steps", out)
    assert found, out
    return float(found.group(1).replace(",", ""))


def test_training_speed_is_measured_over_the_steps_the_command_ran(tmp_path, capsys):
    capsys.readouterr()
    run = train(tmp_path, "s", *TINY)
    fresh = speed(capsys.readouterr().out)
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    out = capsys.readouterr().out
    resumed = speed(out)
    assert "over the 11 training steps" in out            # one epoch of digits, batch 128
    assert math.isfinite(resumed) and resumed > 0
    # timed over that epoch's 1,293 examples: at least as fast as the epoch's wall time
    # (training plus validation) allows, and not more than the examples it ran
    epoch = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert resumed >= 0.99 * 1293 / epoch["seconds"], (resumed, epoch)
    assert resumed == pytest.approx(epoch["examples_per_s"], rel=0.02)
    # (the bug this guards against reported nan, or 12x the fresh run's figure after a
    # resume; a ratio of the two timings is left to benchmarks: this machine's speed drifts)
    assert math.isfinite(fresh) and fresh > 0
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert "no training step ran" in capsys.readouterr().out
