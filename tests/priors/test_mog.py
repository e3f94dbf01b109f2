"""The mixture-of-Gaussians prior (priors/mog.py) against the mixture written out by hand, a 2-D
quadrature of its density, and the one-sample KL the ELBO takes against it."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vaekit import build_model
from vaekit.latents.gaussian import diagonal_gaussian
from vaekit.objectives import kl_groups, kl_layers
from vaekit.priors import MoGPrior

from conftest import tiny


def mog_model(dim=3, components=4, seed=0):
    torch.manual_seed(seed)
    vae = build_model(tiny(latent_dim=dim, prior={"name": "mog", "components": components}),
                      (5,)).double()
    with torch.no_grad():       # away from the initial values: unequal weights and scales
        vae.latent_prior.logits.normal_()
        vae.latent_prior.pre_scale.normal_()
    return vae


def by_hand(prior: MoGPrior, z: torch.Tensor) -> torch.Tensor:
    """log sum_k pi_k prod_d N(z_d; mu_kd, sigma_kd^2), each Gaussian written out."""
    log_pi = prior.logits - torch.logsumexp(prior.logits, 0)                       # [K]
    sigma = torch.nn.functional.softplus(prior.pre_scale) + 1e-5                    # [K, Z]
    u = (z.unsqueeze(-2) - prior.loc) / sigma                                       # [..., K, Z]
    log_n = (-0.5 * u ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)).sum(-1)     # [..., K]
    return torch.logsumexp(log_pi + log_n, -1)


def test_log_prob_is_the_mixture_written_out(float64):
    vae = mog_model()
    z = torch.randn(7, 2, 3) * 2
    with torch.no_grad():
        assert torch.allclose(vae.prior().log_prob(z), by_hand(vae.latent_prior, z),
                              rtol=0, atol=1e-12)


def test_the_density_integrates_to_one_in_two_dimensions(float64):
    p = mog_model(dim=2, components=3).prior()
    v = torch.linspace(-14, 14, 1401)
    grid = torch.stack(torch.meshgrid(v, v, indexing="ij"), -1)                      # [n, n, 2]
    with torch.no_grad():
        density = p.log_prob(grid).exp()
    h = (v[1] - v[0]).item()
    assert abs(torch.trapezoid(torch.trapezoid(density, dx=h), dx=h).item() - 1) < 1e-8


def test_one_component_at_zero_with_unit_scales_is_the_standard_normal(float64):
    torch.manual_seed(0)
    prior = MoGPrior(3, 1)
    with torch.no_grad():
        prior.loc.zero_()
    z = torch.randn(10, 3)
    standard = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    assert torch.allclose(prior.distribution().log_prob(z), standard.log_prob(z), atol=1e-9)


def test_the_one_sample_kl_averages_to_the_closed_form_for_one_component(float64):
    """E_q[log q(z) - log p(z)] = KL(q || N(mu, sigma)) when p is one Gaussian component."""
    torch.manual_seed(1)
    prior = MoGPrior(3, 1)
    with torch.no_grad():
        prior.loc.normal_()
        prior.pre_scale.normal_()
        p = prior.distribution()
    q = diagonal_gaussian(torch.randn(4, 6))                                         # [B=4]
    n = 200_000
    z = q.sample((n,))                                                               # [n, B, Z]
    estimate = kl_layers(q, p, z)[:, 0]             # the one-draw KL averaged over the draws
    spread = (q.log_prob(z) - p.log_prob(z)).std(0)                  # of a single draw's KL
    component = Independent(Normal(prior.loc[0], torch.nn.functional.softplus(
        prior.pre_scale[0]) + 1e-5), 1)
    exact = kl_divergence(q, component)                                              # [B]
    assert ((estimate - exact).abs() < 5 * spread / math.sqrt(n)).all()
    assert (spread > 0.1).all()                     # a real Monte Carlo test, not 0 == 0


def test_the_kl_to_a_mixture_is_one_sample_at_the_elbos_draw_and_free_bits_take_it_whole():
    vae = build_model(tiny(latent_dim=3, prior="mog"), (5,))
    q, p = vae.posterior(torch.rand(6, 5)), vae.prior()
    with pytest.raises(NotImplementedError):
        kl_divergence(q, p)                           # no closed form: torch registers none
    z = q.rsample()
    layers = kl_layers(q, p, z)
    assert torch.allclose(layers[:, 0], q.log_prob(z) - p.log_prob(z))
    assert torch.equal(kl_groups(q, p, layers), layers)     # one group: the whole KL
    standard = build_model(tiny(latent_dim=3), (5,))
    assert kl_groups(q, standard.prior(), kl_layers(q, standard.prior())).shape == (6, 3)


def test_a_free_bits_step_trains_the_prior():
    from vaekit import TrainConfig
    from vaekit.training.vae_step import loss_and_terms
    torch.manual_seed(0)
    vae = build_model(tiny(latent_dim=3, prior="mog"), (5,))
    x = torch.rand(8, 5).round()
    config = TrainConfig(model=vae.config, free_bits=0.5)
    loss, values = loss_and_terms(vae, x, vae.encode(x), config, beta=1.0)
    loss.backward()
    assert torch.isfinite(loss) and values.shape == (8, 2)
    for name in ("logits", "loc", "pre_scale"):
        assert getattr(vae.latent_prior, name).grad.abs().sum() > 0, name
