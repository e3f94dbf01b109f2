"""A kind's step (training/step.py): the optimizer sees the gradient the settings ask for."""

import pytest
import torch

from vaekit import TrainConfig
from vaekit.config import TrainConfig
from vaekit.training import precision
from vaekit.training.guard import Guard
from vaekit.training.step import Step

from test_devices import small


def gradient_norm_at_step(grad_clip: float) -> float:
    """The global gradient norm the optimizer steps with, for a loss whose gradient norm is
    far above 1."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    step = Step(model, TrainConfig(grad_clip=grad_clip).validate(), 10, 1, Guard(5), False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    optimizer.step = lambda: seen.append(torch.nn.utils.get_total_norm(
        [p.grad for p in model.parameters()]).item())
    loss = 1000 * model(torch.ones(2, 4)).square().sum()
    assert bool(step.descend(loss, model, optimizer))
    return seen[0]


def test_grad_clip_bounds_the_gradient_norm_the_optimizer_sees():
    assert gradient_norm_at_step(0.0) > 100                 # off: the raw gradient
    assert gradient_norm_at_step(2.5) == pytest.approx(2.5, rel=1e-5)


def test_a_skipped_step_leaves_weights_and_adam_state_untouched():
    """The fused optimizer skips on the device (found_inf): no host decision needed."""
    from vaekit.training.step import Step
    model = torch.nn.Linear(3, 1)
    step = Step(model, small(), 10, 1, Guard(patience=5, every=2), parallel=False)
    opt = precision.make_optimizer(model, 0.1)
    assert opt.defaults.get("fused")
    x = torch.ones(2, 3)
    assert bool(step.descend(model(x).sum(), model, opt))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: v.clone() for k, v in opt.state[model.weight].items()}
    taken = step.descend(model(x).sum() * float("nan"), model, opt)
    assert torch.is_tensor(taken) and not bool(taken)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(state[k], v) for k, v in opt.state[model.weight].items())
