"""Diagonal Gaussian latents: p(z) = N(0, I), q(z|x) = N(mu(x), diag sigma(x)^2).
Sampling is `rsample`, the reparameterization z = mu + sigma * eps (Kingma & Welling 2014); q
is an `IndependentPosterior` with the protocol's defaults (latents/base.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import Independent, Normal

from ..registry import Spec, check
from ..settings import setting
from .base import IndependentPosterior, LatentFamily
from .standard_normal import StandardNormal

MIN_SCALE = 1e-5  # keeps log sigma finite when softplus underflows


def diagonal_gaussian(params: torch.Tensor) -> IndependentPosterior:
    """[..., 2D] network outputs (mu, pre-softplus sigma) -> N(mu, diag sigma^2) over [D]."""
    mu, pre = params.chunk(2, dim=-1)
    scale = F.softplus(pre) + MIN_SCALE
    return IndependentPosterior(Normal(mu, scale, validate_args=False), 1, validate_args=False)


def standard_normal(zero: torch.Tensor, one: torch.Tensor) -> Independent:
    return Independent(StandardNormal(zero, one), 1, validate_args=False)


class GaussianLatent(LatentFamily):
    def __init__(self, dim: int):
        super().__init__()
        self.dims = (dim,)           # one stochastic layer
        self.param_size = 2 * dim    # encoder gives (mu, pre-softplus sigma)
        self.z_size = dim
        self.decoder_size = dim
        self.register_buffer("_zero", torch.zeros(dim), persistent=False)
        self.register_buffer("_one", torch.ones(dim), persistent=False)

    def posterior(self, params: torch.Tensor) -> IndependentPosterior:
        return diagonal_gaussian(params)

    def prior(self) -> Independent:
        return standard_normal(self._zero, self._one)


@dataclass
class Gaussian(Spec):
    """z ~ N(0, I) of `dim` dimensions; q(z|x) a diagonal Gaussian."""
    name = "gaussian"
    iwae = True                   # the IWAE objective applies
    dreg = True                   # and DReG: q's parameters are all the encoder's output
    dim: int = setting(50, "latent size", flag="latent-dim")

    def validate(self) -> "Gaussian":
        check(self.dim >= 1, f"latent_dim must be >= 1, got {self.dim}")
        return self

    def build(self) -> GaussianLatent:
        return GaussianLatent(self.dim)
