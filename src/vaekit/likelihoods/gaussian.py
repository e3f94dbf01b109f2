"""Gaussian likelihood whose mean AND variance are decoder outputs (the lecture's f_c and f_v).
sigma = min_std + softplus(raw): the floor keeps log p(x|z) bounded on pixels that are constant
across the data set. `variance`: "decoder" (f_v(z); [2C, H, W], means first), "pixel" (one
parameter per pixel) or "shared" (one for every pixel: with a linear decoder, probabilistic PCA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import Independent, Normal

from ..registry import Spec, check
from ..settings import setting
from .base import Likelihood

VARIANCES = ("decoder", "pixel", "shared")


class GaussianLikelihood(Likelihood):
    def __init__(self, event_shape: tuple[int, ...], min_std: float = 1e-3,
                 variance: str = "decoder"):
        super().__init__(event_shape)
        self.min_std, self.variance = min_std, variance
        if variance != "decoder":   # flat, so that its name and shape never depend on layout
            self.raw_std = torch.nn.Parameter(torch.zeros(self.dim if variance == "pixel" else 1))

    @property
    def param_shape(self) -> tuple[int, ...]:
        if self.variance != "decoder":
            return self.event_shape                       # the mean f_c alone
        first, *rest = self.event_shape                   # (mean f_c, pre-softplus std f_v)
        return (2 * first, *rest)

    def forward(self, params: torch.Tensor) -> Independent:
        if self.variance == "decoder":
            loc, raw = params.chunk(2, dim=-self.event_dims)
        else:
            raw_std = self.raw_std.view(self.event_shape) if self.variance == "pixel" \
                else self.raw_std
            loc, raw = params, raw_std.expand_as(params)
        scale = self.min_std + F.softplus(raw)
        return Independent(Normal(loc, scale, validate_args=False), self.event_dims,
                           validate_args=False)

    def mean_image(self, dist: Independent) -> torch.Tensor:
        return dist.mean.clamp(0.0, 1.0)

    def baseline(self, mean: torch.Tensor, std: torch.Tensor) -> Normal:
        return Normal(mean, std.clamp_min(1e-2))


@dataclass
class Gaussian(Spec):
    """p(x|z) = prod N(x_d; f_c(z)_d, sigma_d^2), for continuous (dequantized) data."""
    name = "gaussian"
    data = "continuous"
    min_std: float = setting(1e-3, "sigma floor")
    variance: str = setting("decoder", "variance from the decoder, one per pixel, or one "
                            "shared", flag="gaussian-variance", choices=VARIANCES)

    def validate(self) -> "Gaussian":
        check(self.min_std > 0 and math.isfinite(self.min_std),
              f"min_std must be > 0, got {self.min_std}")
        check(self.variance in VARIANCES,
              f"gaussian variance must be decoder, pixel or shared, got {self.variance!r}")
        return self

    def build(self, event_shape: tuple[int, ...]) -> GaussianLikelihood:
        return GaussianLikelihood(event_shape, self.min_std, self.variance)
