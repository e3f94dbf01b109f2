"""Inverse autoregressive flows (latents/flows/iaf.py): the log-determinant is autograd's, each
step's Jacobian is triangular in its variable order (reversed every other step), a new flow is
the identity, the inverse is exact, and q integrates to 1."""

import pytest
import torch

from vaekit.latents.flows.iaf import IAF, IAFStep
from vaekit.latents.gaussian import GaussianLatent

from latents.flows.helpers import autograd_log_det, grid_integral

pytestmark = pytest.mark.usefixtures("float64")


def trained_looking(flow: IAF, seed: int = 0, scale: float = 0.7) -> IAF:
    """The flow with every weight random (a new flow's output layers are zero)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=g))
    return flow.double()


@pytest.mark.parametrize("D", [2, 3, 4, 5])
def test_log_det_is_autograds_and_each_jacobian_is_triangular_in_its_order(D):
    flow = trained_looking(IAF(D, steps=2, width=8), seed=D)
    h = torch.randn(1, 8, generator=torch.Generator().manual_seed(1))
    x = torch.randn(1, D, generator=torch.Generator().manual_seed(2))
    for t, step in enumerate(flow.transforms(h)):
        J, expected = autograd_log_det(step, x)
        assert torch.allclose(step.forward_and_log_det(x)[1], expected, atol=1e-10)
        # y_i depends on x_j only for j at or before i in the step's order
        assert torch.equal(J, J.tril() if t % 2 == 0 else J.triu()), (t, J)
        assert (J.diagonal() > 0).all()
        x = step.forward_and_log_det(x)[0]


def test_the_inverse_is_exact():
    flow = trained_looking(IAF(5, steps=3, width=16), scale=0.5)   # sigma >= ~1e-3
    h = torch.randn(4, 16)
    x = torch.randn(10, 4, 5)
    for step in flow.transforms(h):
        y, _ = step.forward_and_log_det(x)
        assert torch.allclose(step._inverse(y), x, atol=1e-10)


def test_a_new_flow_is_the_identity():
    x, h = torch.randn(3, 4), torch.randn(3, 6)
    for step in IAF(4, steps=2, width=6).double().transforms(h):
        y, log_det = step.forward_and_log_det(x)
        assert torch.allclose(y, x, atol=1e-15) and torch.allclose(log_det, torch.zeros(3))
    assert isinstance(step, IAFStep)


@pytest.mark.parametrize("D", [1, 2])
def test_one_dimension_reads_the_context_only(D):
    flow = trained_looking(IAF(D, steps=1, width=4))
    assert (flow.mades[0].hidden.mask == 0).all() == (D == 1)


@pytest.mark.parametrize("seed", [0, 1])
def test_a_2d_iaf_posterior_integrates_to_one_on_a_grid(seed):
    flow = trained_looking(IAF(2, steps=2, width=8))
    h = torch.randn(1, 8, generator=torch.Generator().manual_seed(seed))
    params = torch.cat([torch.tensor([[0.3, -0.5, -0.7, 0.2]]), h], -1)
    q = GaussianLatent(2, flow).posterior(params)
    assert abs(grid_integral(q, n=401) - 1) < 1e-2
