"""What every flow posterior does (latents/flows/base.py): log q at its own draw is exact and
never inverts a step, importance draws carry log q from the draw, a flow of no steps is the
Gaussian (its one-sample KL averages to the closed form), and its point is f(mu)."""

import pytest
import torch
from torch.distributions import kl_divergence

from vaekit.latents.flows import IAF, Planar
from vaekit.latents.flows.iaf import IAFStep
from vaekit.latents.flows.planar import PlanarStep
from vaekit.latents.gaussian import GaussianLatent, diagonal_gaussian
from vaekit.objectives import kl_layers

from latents.flows.test_iaf import trained_looking

pytestmark = pytest.mark.usefixtures("float64")


def flow_latents(D: int = 3):
    """A planar and an IAF family with non-trivial steps, and encoder outputs for 4 examples."""
    g = torch.Generator().manual_seed(0)
    out = []
    for flow in (Planar(D, steps=3), trained_looking(IAF(D, steps=2, width=8), scale=0.5)):
        latent = GaussianLatent(D, flow)
        out.append((latent, torch.randn(4, latent.param_size, generator=g)))
    return out


def refuse_to_invert(monkeypatch):
    def refuse(self, y):
        raise AssertionError("inverted a step")
    for step in (PlanarStep, IAFStep):
        monkeypatch.setattr(step, "_inverse", refuse)


def test_log_q_at_its_own_draw_is_exact_and_never_inverts(monkeypatch):
    for latent, params in flow_latents():
        q = latent.posterior(params)
        with monkeypatch.context() as m:
            refuse_to_invert(m)
            z = q.rsample((5,))                                    # [5, 4, D]
            at_draw = q.log_prob(z)
            drawn, log_q = q.importance_draws(7)
            assert drawn.shape == (7, 4, 3) and log_q.shape == (7, 4)
        # the same points as new tensors: log q by inverting every step
        assert torch.allclose(at_draw, q.log_prob(z.clone()), atol=1e-10)
        assert torch.allclose(log_q, q.log_prob(drawn.clone()), atol=1e-10)


def test_log_q_has_gradients_to_the_encoder_and_the_flow():
    latent, params = flow_latents()[1]
    params.requires_grad_(True)
    q = latent.posterior(params)
    z = q.rsample()
    q.log_prob(z).sum().backward()
    assert params.grad.abs().sum() > 0
    assert all(p.grad is not None for p in latent.flow.parameters())


def test_a_flow_of_no_steps_is_the_gaussian_and_its_sampled_kl_averages_to_the_closed_form():
    for flow in (Planar(3, steps=0), IAF(3, steps=0, width=4)):
        latent = GaussianLatent(3, flow)
        params = torch.randn(2, latent.param_size, generator=torch.Generator().manual_seed(1))
        q, gaussian = latent.posterior(params), diagonal_gaussian(params[:, :6])
        assert latent.kl_sampled
        z = q.sample((40000,))
        one_sample = q.kl_layers(latent.prior(), z)[..., 0]        # [n, B]
        exact = kl_divergence(gaussian, latent.prior())
        se = one_sample.std(0) / len(one_sample) ** 0.5
        assert ((one_sample.mean(0) - exact).abs() < 4 * se).all(), (one_sample.mean(0), exact)
        assert torch.allclose(kl_layers(q, latent.prior(), z)[:, 0], one_sample.mean(0))


def test_the_point_is_the_flow_applied_to_the_base_mean():
    latent, params = flow_latents()[0]
    q = latent.posterior(params)
    x = q.base_dist.mean
    for step in q.transforms:
        x = step(x)
    assert torch.allclose(q.point(), x)
    with pytest.raises(NotImplementedError):         # E_q[z] has no closed form
        q.mean


def test_the_elbos_extra_kl_samples_never_invert(monkeypatch):
    """--kl-samples: the KL at the ELBO's draw and at S - 1 more, each read from the flow's
    cache; the estimate is the mean of the one-draw KLs at those draws."""
    from torch.distributions import Independent, Normal
    from vaekit.objectives import elbo
    from vaekit.priors import GaussianMixture
    p = GaussianMixture(torch.zeros(1), torch.zeros(1, 3), torch.ones(1, 3))
    decode = lambda z: Independent(Normal(z[..., :2], 1.0), 1)  # noqa: E731
    for latent, params in flow_latents():
        q = latent.posterior(params)
        with monkeypatch.context() as m:
            refuse_to_invert(m)
            torch.manual_seed(3)
            terms = elbo(torch.zeros(4, 2), q, p, decode, kl_samples=4)
        torch.manual_seed(3)
        z = torch.cat([q.rsample().unsqueeze(0), q.rsample((3,))])          # the same draws
        by_hand = (q.log_prob(z.clone()) - p.log_prob(z)).mean(0)
        assert torch.allclose(terms.kl, by_hand, atol=1e-10)
