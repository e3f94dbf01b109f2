"""Planar flows (latents/flows/planar.py): the log-determinant is autograd's, every step is
invertible (even where the raw w.u < -1), u = 0 is the identity, and q integrates to 1."""

import pytest
import torch

from vaekit.latents.flows.planar import Planar, PlanarStep
from vaekit.latents.gaussian import GaussianLatent

from latents.flows.helpers import autograd_log_det, grid_integral

pytestmark = pytest.mark.usefixtures("float64")


def random_step(D: int, seed: int, scale: float = 1.5) -> PlanarStep:
    g = torch.Generator().manual_seed(seed)
    u, w, b = (scale * torch.randn(1, n, generator=g) for n in (D, D, 1))
    return PlanarStep(u, w, b)


@pytest.mark.parametrize("D", [2, 3, 4, 5])
def test_log_det_is_autograds_log_abs_det_of_the_jacobian(D):
    for seed in range(4):
        step = random_step(D, seed)
        x = torch.randn(1, D, generator=torch.Generator().manual_seed(10 + seed))
        _, expected = autograd_log_det(step, x)
        assert torch.allclose(step.forward_and_log_det(x)[1], expected, atol=1e-10)


def test_u_hat_keeps_every_step_invertible_and_the_inverse_exact():
    u, w = torch.tensor([[-3.0, -2.0]]), torch.tensor([[2.0, 1.0]])        # w.u = -8 < -1
    step = PlanarStep(u, w, torch.tensor([[0.3]]))
    assert ((w * step.u_hat).sum() > -1) and torch.allclose((w * step.u_hat).sum(), step.m)
    for D, seed in [(2, 0), (3, 1), (5, 2)]:
        step = random_step(D, seed, scale=3.0)
        x = 2 * torch.randn(50, 1, D, generator=torch.Generator().manual_seed(seed))
        y, _ = step.forward_and_log_det(x)
        assert torch.allclose(step._inverse(y), x, atol=1e-10)


def test_zero_u_is_the_identity_and_zero_parameters_are_finite():
    step = PlanarStep(torch.zeros(1, 3), torch.randn(1, 3), torch.randn(1, 1))
    x = torch.randn(4, 1, 3)
    y, log_det = step.forward_and_log_det(x)
    assert torch.equal(y, x) and torch.equal(log_det, torch.zeros(4, 1))
    params = torch.zeros(2, 7, requires_grad=True)                    # vem's E-step starts here
    y, log_det = PlanarStep(*params.split([3, 3, 1], -1)).forward_and_log_det(x)
    (y.sum() + log_det.sum()).backward()
    assert torch.equal(y, x.expand(4, 2, 3)) and torch.isfinite(params.grad).all()


def test_a_2d_planar_posterior_integrates_to_one_on_a_grid():
    flow = Planar(2, steps=3)
    g = torch.Generator().manual_seed(0)
    params = torch.cat([torch.tensor([[0.3, -0.5, -0.7, 0.2]]),            # mu, pre-softplus sigma
                        1.5 * torch.randn(1, flow.param_size, generator=g)], -1)
    q = GaussianLatent(2, flow).posterior(params)
    assert abs(grid_integral(q, n=401) - 1) < 1e-2
