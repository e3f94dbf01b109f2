"""Gaussian latents (latents/gaussian.py): the reparameterized sample, the posterior as torch's
Independent Normal, and its KL groups (one per unit, for free bits)."""

import pytest
import torch
from torch.distributions import Independent, kl_divergence, Normal

from vaekit import build_model, ModelConfig
from vaekit.latents import GaussianLatent
from vaekit.latents.base import IndependentPosterior
from vaekit.latents.gaussian import standard_normal
from vaekit.objectives import kl_groups, kl_layers


def test_reparameterized_sample_is_mu_plus_sigma_eps():
    vae = build_model(ModelConfig(latent={"name": "gaussian", "dim": 2}), (4,))
    q = vae.posterior(torch.rand(1, 4))
    torch.manual_seed(0)
    z = q.rsample()
    torch.manual_seed(0)
    eps = torch.randn(1, 2)
    assert torch.allclose(z, q.base_dist.loc + q.base_dist.scale * eps)
    z.sum().backward()                      # gradients reach the encoder through z
    assert vae.encoder[-1].weight.grad.abs().sum() > 0


@pytest.mark.usefixtures("float64")
def test_the_gaussian_posterior_is_torchs_independent_normal_value_for_value():
    latent = GaussianLatent(4)
    params = torch.randn(6, 8)
    q = latent.posterior(params)
    assert isinstance(q, IndependentPosterior) and isinstance(q, Independent)
    plain = Independent(Normal(q.base_dist.loc, q.base_dist.scale), 1)
    prior = latent.prior()
    assert torch.equal(kl_divergence(q, prior), kl_divergence(plain, prior))
    z = q.sample((3,))
    assert torch.equal(q.log_prob(z), plain.log_prob(z))


def test_gaussian_groups_are_its_units_and_sum_to_the_kl():
    torch.manual_seed(0)
    q = Independent(Normal(torch.randn(5, 3), torch.rand(5, 3) + 0.2), 1)
    prior = standard_normal(torch.zeros(3), torch.ones(3))
    groups = kl_groups(q, prior, kl_layers(q, prior))
    assert groups.shape == (5, 3)
    # per unit: the closed form 0.5 (mu^2 + s^2 - 1) - log s, written out here
    mu, s = q.base_dist.loc, q.base_dist.scale
    assert torch.allclose(groups, 0.5 * (mu ** 2 + s ** 2 - 1) - s.log(), atol=1e-6)
    assert torch.allclose(groups.sum(-1), torch.distributions.kl_divergence(q, prior), atol=1e-5)
