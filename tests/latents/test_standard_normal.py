"""The standard normal prior (latents/standard_normal.py): its fast KL is the general one."""

import torch
from torch.distributions import Independent

from vaekit import build_model

from conftest import tiny


def test_standard_normal_prior_kl_matches_the_general_formula():
    from torch.distributions import Normal, kl_divergence
    vae = build_model(tiny(latent_dim=3), (4,))
    q = vae.posterior(torch.rand(6, 4))
    fast = kl_divergence(q, vae.prior())
    general = kl_divergence(q, Independent(Normal(torch.zeros(3), torch.ones(3)), 1))
    assert fast.shape == (6,) and torch.allclose(fast, general, atol=1e-6)
