"""The NaN guard's verdict is one type on every device: a 0-dim bool tensor on the model's
device. On a CPU (every = 1) it is read on the host, where that costs nothing; the GPU's path
(every > 1, counts on the device) is tested in test_device.py."""

import pytest
import torch

from vaekit.training.guard import Diverged, Guard


def gradients(model, value):
    for p in model.parameters():
        p.grad = torch.full_like(p, value)


def test_the_verdict_is_a_bool_tensor_on_the_host_path_too():
    model, events = torch.nn.Linear(2, 2), []
    guard = Guard(patience=2, log=lambda record, message: events.append(record))
    assert guard.on_host
    gradients(model, 1.0)
    ok = guard.check(model, torch.tensor(1.0))
    assert torch.is_tensor(ok) and ok.dtype == torch.bool and ok.dim() == 0 and bool(ok)
    gradients(model, float("nan"))
    ok = guard.check(model, torch.tensor(2.0))
    assert torch.is_tensor(ok) and not bool(ok)
    assert guard.skipped == 1 and events[0]["event"] == "skipped_step" and events[0]["loss"] == 2
    with pytest.raises(Diverged, match="2 non-finite steps in a row"):
        guard.check(model, torch.tensor(1.0))


def test_a_step_ruled_out_by_an_earlier_one_neither_counts_nor_ends_a_streak():
    model, guard = torch.nn.Linear(2, 2), Guard(patience=2)
    gradients(model, float("nan"))
    first = guard.check(model, torch.tensor(1.0))
    second = guard.check(model, torch.tensor(1.0), allow=first)   # a GAN's generator step
    assert torch.is_tensor(second) and not bool(second) and guard.skipped == 1
    gradients(model, 1.0)
    assert not bool(guard.check(model, torch.tensor(1.0), allow=torch.tensor(False)))
    gradients(model, float("nan"))
    with pytest.raises(Diverged):                           # the streak went on: 2 in a row
        guard.check(model, torch.tensor(1.0))
