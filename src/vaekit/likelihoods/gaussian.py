"""Gaussian likelihood whose mean AND variance are decoder outputs (the lecture's f_c and f_v).

sigma = min_std + softplus(raw): the floor keeps log p(x|z) bounded (at most
-log(min_std * sqrt(2 pi)) nats per pixel), so the likelihood cannot run off to infinity on
pixels that are constant across the data set.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, Normal


class GaussianLikelihood(nn.Module):
    def __init__(self, min_std: float = 1e-3):
        super().__init__()
        self.min_std = min_std

    @classmethod
    def from_config(cls, config) -> "GaussianLikelihood":
        return cls(config.min_std)

    @staticmethod
    def param_size(x_dim: int) -> int:
        return 2 * x_dim   # (mean f_c, pre-softplus std f_v)

    def forward(self, params: torch.Tensor) -> Independent:
        loc, raw = params.chunk(2, dim=-1)
        scale = self.min_std + F.softplus(raw)
        return Independent(Normal(loc, scale, validate_args=False), 1, validate_args=False)

    @staticmethod
    def mean_image(dist: Independent) -> torch.Tensor:
        return dist.mean.clamp(0.0, 1.0)
