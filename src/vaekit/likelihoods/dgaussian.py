"""The discretized Gaussian likelihood: each value an integer level 0..L-1 (distributions.py).
The decoder gives [2C, H, W]: loc = (u + 1) (L - 1) / 2, scale = min_scale + softplus(raw)
(L - 1) / 2 levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F

from ..distributions import DiscretizedGaussian
from .levels import LevelsLikelihood, LevelsSpec


class DGaussianLikelihood(LevelsLikelihood):
    def __init__(self, event_shape, levels: int, min_scale: float):
        super().__init__(event_shape, levels)
        self.min_scale = min_scale

    @property
    def param_shape(self) -> tuple[int, ...]:
        first, *rest = self.event_shape
        return (2 * first, *rest)

    def forward(self, params):
        half = (self.levels - 1) / 2
        loc, raw = params.chunk(2, dim=-self.event_dims)
        base = DiscretizedGaussian((loc + 1) * half, self.min_scale + F.softplus(raw) * half,
                                   self.levels, validate_args=False)
        return self.unit(base, pixel_last=False)


@dataclass
class DGaussian(LevelsSpec):
    """p(x|z) = prod over values of a discretized Gaussian over the levels."""
    name = "dgaussian"

    def build(self, event_shape: tuple[int, ...]) -> DGaussianLikelihood:
        return DGaussianLikelihood(event_shape, self.levels or 256, self.min_scale)
