"""A learned mixture-of-Gaussians prior: p(z) = sum_k pi_k N(z; mu_k, diag sigma_k^2), with
the weights pi = softmax(logits), the means mu_k and the scales sigma_k = softplus(.) + MIN_SCALE
all learned (a MixtureSameFamily over Independent(Normal)). It starts at uniform weights, unit
scales and means drawn from N(0, I): distinct components, so that they do not move as one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.distributions import MixtureSameFamily

from ..latents.gaussian import MIN_SCALE, diagonal_gaussian
from ..settings import setting
from .base import LearnedPrior, PriorSpec
from .mixture import mixture

UNIT = math.log(math.expm1(1.0 - MIN_SCALE))     # softplus(UNIT) + MIN_SCALE = 1


class MoGPrior(LearnedPrior):
    def __init__(self, dim: int, components: int):
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(components))                   # [K]
        self.loc = nn.Parameter(torch.randn(components, dim))                 # [K, Z]
        self.pre_scale = nn.Parameter(torch.full((components, dim), UNIT))    # [K, Z]
        self.what = f"mog: a learned mixture of {components} diagonal Gaussians"

    def distribution(self, model=None) -> MixtureSameFamily:
        return mixture(self.logits, diagonal_gaussian(torch.cat([self.loc, self.pre_scale], -1)))


@dataclass
class MixtureOfGaussians(PriorSpec):
    """p(z) a mixture of K diagonal Gaussians, its weights, means and scales learned."""
    name = "mog"
    components: int = setting(10, "mixture components K", flag="prior-components",
                              metavar="K")

    def build(self, latent, event_shape) -> MoGPrior:
        return MoGPrior(latent.z_size, self.components)
