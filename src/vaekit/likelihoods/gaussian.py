"""Gaussian likelihood whose mean AND variance are decoder outputs (the lecture's f_c and f_v).

sigma = min_std + softplus(raw): the floor keeps log p(x|z) bounded (at most
-log(min_std * sqrt(2 pi)) nats per pixel), so the likelihood cannot run off to infinity on
pixels that are constant across the data set.

`variance` chooses where raw comes from: "decoder" (default: a function of z, f_v), "pixel" (one
learned parameter per pixel, not a function of z) or "shared" (one learned parameter for every
pixel: with a linear decoder this is exactly probabilistic PCA).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal


VARIANCES = ("decoder", "pixel", "shared")


class GaussianLikelihood(nn.Module):
    def __init__(self, min_std: float = 1e-3, variance: str = "decoder", x_dim: int = 1):
        super().__init__()
        self.min_std, self.variance = min_std, variance
        if variance != "decoder":
            self.raw_std = nn.Parameter(torch.zeros(x_dim if variance == "pixel" else 1))

    @classmethod
    def from_config(cls, config) -> "GaussianLikelihood":
        return cls(config.min_std, config.gaussian_variance, config.x_dim)

    def param_size(self, x_dim: int) -> int:
        # (mean f_c, pre-softplus std f_v), or the mean alone
        return 2 * x_dim if self.variance == "decoder" else x_dim

    def forward(self, params: torch.Tensor) -> Independent:
        if self.variance == "decoder":
            loc, raw = params.chunk(2, dim=-1)
        else:
            loc, raw = params, self.raw_std.expand_as(params)
        scale = self.min_std + F.softplus(raw)
        return Independent(Normal(loc, scale, validate_args=False), 1, validate_args=False)

    @staticmethod
    def mean_image(dist: Independent) -> torch.Tensor:
        return dist.mean.clamp(0.0, 1.0)
