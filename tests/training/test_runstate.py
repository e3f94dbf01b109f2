"""Surviving faults (training/runstate.py): damaged or half-written checkpoints, only the last
ones kept, repeated NaN batches rolled back, a run that keeps diverging stopped."""

import json

import pytest
import torch

from vaekit import checkpoint, train, VaekitError
from vaekit.data import Batches, prepare
from vaekit.runs import Run

from conftest import tiny
from test_checkpoint import small_config


def weights(result):
    return [p.detach().clone() for p in result.model.state_dict().values()]


def epochs_logged(run):
    return [json.loads(l)["epoch"] for l in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted 4-epoch run, the reference for every interrupted one."""
    return train(small_config(epochs=4), tmp_path_factory.mktemp("s") / "r", progress=False,
                 final_eval=False)


def test_only_the_last_checkpoints_are_kept(straight):
    names = sorted(p.name for p in (straight.run_dir / "checkpoints").iterdir())
    assert names == ["epoch-000002", "epoch-000003", "epoch-000004"]


def test_resume_falls_back_past_a_damaged_checkpoint(straight, tmp_path, capsys):
    run = tmp_path / "r"
    train(small_config(epochs=3), run, progress=False, final_eval=False)
    newest = Run(run).checkpoint(3) / "model.safetensors"
    newest.write_bytes(newest.read_bytes()[:-50])                  # truncated
    with (run / "metrics.jsonl").open("a") as f:
        f.write('{"epoch": 4, "trunc')                             # a crash mid-line
    resumed = train(None, run, resume=True, epochs=4, progress=False, final_eval=False)
    assert "epoch-000003/model.safetensors: checksum does not match" in capsys.readouterr().err
    assert epochs_logged(run) == [1, 2, 3, 4]
    for a, b in zip(weights(straight), weights(resumed)):
        assert torch.equal(a, b)                 # epoch 3 was done again, exactly as before


def test_a_crash_while_saving_leaves_the_previous_checkpoint_whole(straight, tmp_path,
                                                                   monkeypatch):
    run = tmp_path / "r"
    real, calls = checkpoint.save_file, []

    def dies_on_the_eighth_file(tensors, path):
        calls.append(path)
        if len(calls) == 8:      # epoch 0 (2 files), epoch 1 (best 1, checkpoint 2), epoch 2 ...
            open(path, "wb").write(b"\0" * 10)
            raise KeyboardInterrupt("killed while writing " + path)
        real(tensors, path)

    monkeypatch.setattr(checkpoint, "save_file", dies_on_the_eighth_file)
    with pytest.raises(KeyboardInterrupt):
        train(small_config(epochs=4), run, progress=False, final_eval=False)
    monkeypatch.setattr(checkpoint, "save_file", real)
    published = sorted(p.name for p in (run / "checkpoints").iterdir() if p.name[0] != ".")
    assert published == ["epoch-000000", "epoch-000001"]
    for p in published:                                           # each one whole
        checkpoint.read(run / "checkpoints" / p).verify()
    resumed = train(None, run, resume=True, progress=False, final_eval=False)
    for a, b in zip(weights(straight), weights(resumed)):
        assert torch.equal(a, b)


def poisoned(monkeypatch, bad_steps):
    """Batches whose global step number is in bad_steps carry a NaN pixel."""
    real, count = Batches.with_rows, [0]

    def with_rows(self):
        for rows, xb in real(self):
            count[0] += 1
            if count[0] in bad_steps:
                xb = xb.clone()
                xb[0, 0] = float("nan")
            yield rows, xb

    monkeypatch.setattr(Batches, "with_rows", with_rows)


def events(run):
    path = run / "events.jsonl"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def test_repeated_nans_roll_back_with_half_the_learning_rate(tmp_path, monkeypatch):
    cfg = small_config()
    steps_per_epoch = -(-len(prepare(cfg.data, "bernoulli").train) // cfg.batch_size)
    poisoned(monkeypatch, set(range(steps_per_epoch + 3, steps_per_epoch + 13)))
    result = train(small_config(epochs=3, nan_patience=10), tmp_path / "r", progress=False,
                   final_eval=False)
    log = events(result.run_dir)
    assert [e["event"] for e in log] == ["skipped_step"] * 10 + ["rollback"]
    assert log[-1]["to_epoch"] == 1 and log[-1]["lr"] == pytest.approx(5e-4)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    assert result.history[-1]["lr"] == pytest.approx(5e-4)
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    resumed = checkpoint.latest(result.run_dir)
    assert resumed.meta["trainer"]["rollbacks"] == 1


def test_a_run_that_keeps_diverging_stops_with_finite_checkpoints(tmp_path, monkeypatch):
    poisoned(monkeypatch, set(range(30, 10_000)))
    with pytest.raises(VaekitError, match="training diverged at epoch 2 .* after 2 rollbacks"):
        train(small_config(epochs=3, nan_patience=3, max_rollbacks=2), tmp_path / "r",
              progress=False, final_eval=False)
    last = checkpoint.latest(tmp_path / "r")
    assert last.meta["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in last.tensors("model.safetensors").values())


def baseline_config(kind, **kw):
    return small_config(model=tiny(kind=kind), **kw)


@pytest.mark.parametrize("kind", ["ae", "gan"])
def test_baselines_roll_back_every_optimizer(tmp_path, monkeypatch, kind):
    cfg = baseline_config(kind)
    steps_per_epoch = -(-len(prepare(cfg.data, "bernoulli").train) // cfg.batch_size)
    poisoned(monkeypatch, set(range(steps_per_epoch + 3, steps_per_epoch + 13)))
    result = train(baseline_config(kind, epochs=3, nan_patience=10), tmp_path / "r",
                   progress=False, final_eval=False)
    log = events(result.run_dir)
    assert [e["event"] for e in log] == ["skipped_step"] * 10 + ["rollback"]
    assert log[-1]["to_epoch"] == 1 and log[-1]["lr"] == pytest.approx(5e-4)
    assert [r["epoch"] for r in result.history] == [1, 2, 3]
    saved = checkpoint.latest(result.run_dir)
    assert saved.meta["trainer"]["rollbacks"] == 1
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
