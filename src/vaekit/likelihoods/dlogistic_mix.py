"""The PixelCNN++ likelihood (Salimans et al. 2017): each pixel from a mixture of M discretized
logistics over the levels 0..L-1, colour channels coupled within a component. The decoder
gives [M (1 + 2C + 3), H, W] for colour, [3M, H, W] for grey. loc = (u + 1) (L - 1) / 2 from
u on PixelCNN++'s scale [-1, 1]; scale = min_scale + softplus(raw) (L - 1) / 2; a coupling
coefficient is tanh(raw).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..distributions import DiscretizedLogisticMixture
from ..registry import check
from ..settings import setting
from .levels import LevelsLikelihood, LevelsSpec


class DLogisticMixLikelihood(LevelsLikelihood):
    def __init__(self, event_shape, levels: int, mixtures: int, min_scale: float):
        super().__init__(event_shape, levels)
        self.mixtures, self.min_scale = mixtures, min_scale
        c = self.channels
        self.per_pixel_params = mixtures * (1 + 2 * c + (3 if c == 3 else 0))

    @property
    def param_shape(self) -> tuple[int, ...]:
        return (self.per_pixel_params, *self.pixels)

    def forward(self, params: torch.Tensor):
        m, c, half = self.mixtures, self.channels, (self.levels - 1) / 2
        p = self.per_pixel(params)                                       # [..., *pixels, P]
        logits, loc, raw, coeffs = p.split([m, m * c, m * c, p.shape[-1] - m * (1 + 2 * c)], -1)
        loc = (loc.unflatten(-1, (m, c)) + 1) * half
        scale = self.min_scale + F.softplus(raw.unflatten(-1, (m, c))) * half
        coeffs = torch.tanh(coeffs.unflatten(-1, (m, 3))) if c == 3 else None
        mixture = DiscretizedLogisticMixture(logits, loc, scale, coeffs, self.levels,
                                             validate_args=False)
        return self.unit(mixture, pixel_last=True)

    def shown(self, show: str | None = None) -> str:
        if self.shows(show) == "mode":      # not the mixture's mode (distributions.py)
            return "mode of p(x|z)'s likeliest component"
        return super().shown(show)


@dataclass
class DLogisticMix(LevelsSpec):
    """p(x|z) = prod over pixels of a mixture of discretized logistics (PixelCNN++)."""
    name = "dlogistic-mix"
    mixtures: int = setting(10, "mixture components M")

    def validate(self) -> "DLogisticMix":
        check(self.mixtures >= 1, f"mixtures must be >= 1, got {self.mixtures}")
        return super().validate()

    def build(self, event_shape: tuple[int, ...]) -> DLogisticMixLikelihood:
        check(len(event_shape) != 3 or event_shape[0] in (1, 3),
              f"dlogistic-mix models grey or colour images (1 or 3 channels), got "
              f"{event_shape[0]}")
        return DLogisticMixLikelihood(event_shape, self.levels or 256, self.mixtures,
                                      self.min_scale)
