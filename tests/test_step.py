"""A kind's step (training/step.py): the optimizer sees the gradient the settings ask for."""

import pytest
import torch

from vaekit.config import TrainConfig
from vaekit.training.guard import Guard
from vaekit.training.step import Step


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


def test_grad_clip_must_be_non_negative():
    from vaekit.errors import VaekitError
    with pytest.raises(VaekitError, match="grad_clip must be >= 0"):
        TrainConfig(grad_clip=-1.0).validate()
