"""Diagonal Gaussian latents: p(z) = N(0, I), q(z|x) = N(mu(x), diag sigma(x)^2).

Sampling is `rsample`, the reparameterization z = mu + sigma * eps (Kingma & Welling 2014).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal

from .standard_normal import StandardNormal

MIN_SCALE = 1e-5  # keeps log sigma finite when softplus underflows


class GaussianLatent(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.param_size = 2 * dim   # encoder gives (mu, pre-softplus sigma)
        self.z_size = dim
        self.register_buffer("_zero", torch.zeros(dim), persistent=False)
        self.register_buffer("_one", torch.ones(dim), persistent=False)

    @classmethod
    def from_config(cls, config) -> "GaussianLatent":
        return cls(config.latent_dim)

    def posterior(self, params: torch.Tensor) -> Independent:
        mu, pre = params.chunk(2, dim=-1)               # [..., D] each
        scale = F.softplus(pre) + MIN_SCALE
        return Independent(Normal(mu, scale, validate_args=False), 1, validate_args=False)

    def prior(self) -> Independent:
        return Independent(StandardNormal(self._zero, self._one), 1, validate_args=False)
