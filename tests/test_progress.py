"""Progress bars on the long jobs: drawn on stderr with a rate and the time left when asked for
(VAEKIT_PROGRESS=1 stands in for a terminal), absent with --no-progress or when stderr is not a
terminal, and never changing a number. The FID classifier's one-time training is announced
with one line before it starts."""

import json
import re

import pytest

from vaekit import fid, progress
from vaekit.cli import main
from vaekit.data import load_dataset


TINY = ["--epochs", "1", "--latent-dim", "4", "--encoder-hidden", "16",
        "--decoder-hidden", "16", "--eval-k", "10", "--eval-n", "10", "--no-progress"]


# tqdm's rate and time left: "[00:00<00:00, 123.45ex/s]" (or "1.23s/ex" when slow)
RATE = r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+({0}/s|s/{0})\]"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--runs", str(runs), "--name", "tiny", *TINY]) == 0
    return runs / "tiny"


@pytest.fixture(autouse=True)
def bars(monkeypatch):
    """Every update redrawn (a rate shows after the first chunk), and bars switched back on
    after each test."""
    monkeypatch.setattr(progress, "MININTERVAL", 0)
    monkeypatch.delenv("VAEKIT_PROGRESS", raising=False)
    yield
    progress.set_enabled(True)


@pytest.fixture
def tiny_classifier(monkeypatch, tmp_path, capsys):
    """The FID classifier trained for 4 steps (not minutes), cached under tmp_path; returns a
    list that gets the stderr written before each training starts."""
    monkeypatch.setenv("VAEKIT_CACHE", str(tmp_path / "cache"))
    train, seen = fid.train_classifier, []

    def quick(x, y, **kw):
        seen.append(capsys.readouterr().err)
        return train(x[:64], y[:64], epochs=1, min_steps=3, batch_size=16, **kw)
    monkeypatch.setattr(fid, "train_classifier", quick)
    return seen


def evaluate(run, tmp_path, name, *extra):
    out = tmp_path / f"{name}.json"
    assert main(["evaluate", str(run), "--k", "50", "--n", "20", "--max-rows", "100",
                 "--out", str(out), *extra]) == 0
    return json.loads(out.read_text())


def test_evaluate_shows_a_bar_with_rate_and_time_left(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAEKIT_PROGRESS", "1")
    shown = evaluate(run, tmp_path, "shown")
    err = capsys.readouterr().err
    assert re.search(r"log p\(x\), K=50: +\d+%.*\d+/20 " + RATE.format("ex"), err), err
    hidden = evaluate(run, tmp_path, "hidden", "--no-progress")
    err = capsys.readouterr().err
    assert "log p(x)" not in err and "ex/s" not in err and "s/ex" not in err, err
    assert shown == hidden          # the bar changes no number


def test_no_bar_when_stderr_is_not_a_terminal(run, tmp_path, capsys):
    evaluate(run, tmp_path, "quiet")
    assert "log p(x)" not in capsys.readouterr().err
    assert progress.bar(range(3)).disable


def test_gaps_and_impute_show_bars(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAEKIT_PROGRESS", "1")
    assert main(["gaps", str(run), "--n", "6", "--k", "20", "--elbo-samples", "4",
                 "--max-iter", "100", "--out", str(tmp_path / "gaps.json")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"E-steps \(at most\): .*/100 " + RATE.format("it"), err), err
    assert re.search(r"log p\(x\), K=20: .*" + RATE.format("ex"), err), err
    assert main(["impute", str(run), "--n", "4", "--steps", "3", "--burn-in", "1",
                 "--out", str(tmp_path / "i.png"), "--json", str(tmp_path / "i.json")]) == 0
    err = capsys.readouterr().err
    assert re.search(r"imputation chain, 4 images: .*/3 " + RATE.format("step"), err), err


def test_fid_training_is_announced_once_before_it_starts(tiny_classifier, monkeypatch,
                                                         capsys, tmp_path):
    monkeypatch.setenv("VAEKIT_PROGRESS", "1")
    seen = tiny_classifier
    dataset = load_dataset("digits")
    fid.classifier_for(dataset)
    after = capsys.readouterr().err
    fid.classifier_for(dataset)                      # cached: no announcement, no training
    assert len(seen) == 1 and capsys.readouterr().err == ""
    lines = seen[0].splitlines()
    assert len(lines) == 1, seen[0]
    assert "once per dataset" in lines[0] and "--no-fid skips it" in lines[0]
    assert str(tmp_path / "cache") in lines[0]
    assert re.search(r"FID classifier, 1 epoch: .*/4 " + RATE.format("step"), after), after


def test_announcement_shows_even_with_bars_off(tiny_classifier, capsys):
    progress.set_enabled(False)
    seen = tiny_classifier
    fid.classifier_for(load_dataset("digits"))
    assert "once per dataset" in seen[0] and "step" not in capsys.readouterr().err


@pytest.mark.parametrize("seconds, text", [
    (0.041, "41 ms"), (0.0004, "0.4 ms"), (0.874, "874 ms"), (0.9996, "1 s"), (7.106, "7.11 s"),
    (54.496, "54.5 s"), (125.3, "2:05"), (3725, "1:02:05")])
def test_a_duration_keeps_three_significant_figures_or_reads_as_a_clock(seconds, text):
    assert progress.duration(seconds) == text


def test_a_short_epoch_does_not_read_zero_seconds():
    from vaekit.training.vae_step import VAEStep
    record = {"epoch": 3, "train_elbo": -30.5, "valid_elbo": -29.6, "valid_rec_log_lik": -28.1,
              "valid_kl": 1.5, "seconds": 0.041}                  # digits: one epoch, 41 ms
    assert VAEStep.summary(record).endswith("kl   1.500)  41 ms")
