"""The NaN guard's verdict: on an accelerator a 0-dim bool tensor on the model's device; on a
CPU (every = 1) a Python bool, read on the host where that costs nothing; the GPU's path
(every > 1, counts on the device) is tested below, with
NaN batches skipped and reported in whole runs."""

import math

import pytest
import torch

from vaekit import train
from vaekit.training.guard import Diverged, Guard

from test_checkpoint import small_config
from training.test_runstate import baseline_config, events, poisoned


def gradients(model, value):
    for p in model.parameters():
        p.grad = torch.full_like(p, value)


def test_the_verdict_is_a_python_bool_on_the_host_path():
    model, events = torch.nn.Linear(2, 2), []
    guard = Guard(patience=2, log=lambda record, message: events.append(record))
    assert guard.on_host
    gradients(model, 1.0)
    assert guard.check(model, torch.tensor(1.0)) is True
    gradients(model, float("nan"))
    assert guard.check(model, torch.tensor(2.0)) is False
    assert guard.skipped == 1 and events[0]["event"] == "skipped_step" and events[0]["loss"] == 2
    with pytest.raises(Diverged, match="2 non-finite steps in a row"):
        guard.check(model, torch.tensor(1.0))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_one_non_finite_entry_anywhere_fails_the_check_and_leaves_the_gradients(bad):
    """The fused check (one pass over every gradient) finds a single bad entry in any tensor,
    passes large finite ones, and changes no gradient."""
    model, guard = torch.nn.Sequential(torch.nn.Linear(30, 20), torch.nn.Linear(20, 5)), Guard(9)
    for i, p in enumerate(model.parameters()):
        gradients(torch.nn.ParameterList([p]), 3e38)        # each finite; their sum is not
        before = [q.grad.clone() for q in model.parameters() if q.grad is not None]
        assert bool(guard.finite(model))
        p.grad.view(-1)[-1] = bad
        assert not bool(guard.finite(model)), i
        after = [q.grad for q in model.parameters() if q.grad is not None]
        assert all(torch.equal(a[torch.isfinite(a)], b[torch.isfinite(a)])
                   for a, b in zip(after, before))
        p.grad = None
    assert bool(guard.finite(torch.nn.Linear(2, 2)))        # no gradient yet: nothing to skip


def test_a_step_ruled_out_by_an_earlier_one_neither_counts_nor_ends_a_streak():
    model, guard = torch.nn.Linear(2, 2), Guard(patience=2)
    gradients(model, float("nan"))
    first = guard.check(model, torch.tensor(1.0))
    second = guard.check(model, torch.tensor(1.0), allow=first)   # a GAN's generator step
    assert second is False and guard.skipped == 1
    gradients(model, 1.0)
    assert not bool(guard.check(model, torch.tensor(1.0), allow=torch.tensor(False)))
    gradients(model, float("nan"))
    with pytest.raises(Diverged):                           # the streak went on: 2 in a row
        guard.check(model, torch.tensor(1.0))


def _bad_grad(model, value=float("nan")):
    for p in model.parameters():
        p.grad = torch.full_like(p, value)


def test_the_guard_decides_on_the_device_and_reads_back_every_few_steps():
    model, events = torch.nn.Linear(2, 2), []
    guard = Guard(patience=3, log=lambda record, message: events.append(record), every=4)
    loss = torch.tensor(1.0)
    _bad_grad(model, 1.0)
    ok = guard.check(model, loss)
    assert ok.dtype == torch.bool and ok.dim() == 0 and bool(ok)
    _bad_grad(model)
    for _ in range(2):
        assert not bool(guard.check(model, loss))
    assert guard.skipped == 0 and not events               # not read back yet
    _bad_grad(model)
    with pytest.raises(Diverged, match="3 non-finite steps in a row"):
        guard.check(model, loss)                            # the 4th check reads: 3 in a row
    assert guard.skipped == 3 and events[0]["event"] == "skipped_steps"
    assert events[0]["count"] == 3


def test_float16_overflows_are_the_scalers_not_faults():
    model, guard, limit = torch.nn.Linear(2, 2), Guard(patience=2), 20
    _bad_grad(model, float("inf"))
    for _ in range(limit):                                  # the scale halves each time
        assert not bool(guard.check(model, torch.tensor(1.0), overflow_limit=limit))
    assert guard.skipped == 0 and guard.scaler_skipped == limit
    guard.check(model, torch.tensor(1.0), overflow_limit=limit)   # no scale cured it: a fault
    with pytest.raises(Diverged):
        guard.check(model, torch.tensor(1.0), overflow_limit=limit)
    assert guard.skipped == 2


def test_a_nan_batch_is_skipped_and_reported(tmp_path, monkeypatch, capsys):
    poisoned(monkeypatch, {5})
    result = train(small_config(epochs=2), tmp_path / "r", progress=False, final_eval=False)
    assert "step 5: non-finite gradient (loss nan); step skipped" in capsys.readouterr().err
    assert [(e["event"], e["step"]) for e in events(result.run_dir)] == [("skipped_step", 5)]
    assert result.history[0]["skipped_steps"] == 1 and "skipped_steps" not in result.history[1]
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert all(torch.isfinite(torch.tensor(r["train_elbo"])) for r in result.history)


@pytest.mark.parametrize("kind", ["ae", "gan"])
def test_baselines_skip_nan_batches_too(tmp_path, monkeypatch, capsys, kind):
    poisoned(monkeypatch, {5})
    result = train(baseline_config(kind, epochs=2), tmp_path / "r", progress=False,
                   final_eval=False)
    assert "step 5: non-finite gradient (loss nan); step skipped" in capsys.readouterr().err
    assert [(e["event"], e["step"]) for e in events(result.run_dir)] == [("skipped_step", 5)]
    assert result.history[0]["skipped_steps"] == 1
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert all(math.isfinite(v) for r in result.history for k, v in r.items()
               if k.startswith("train_"))
