"""Bernoulli likelihood for binary data, parameterized by logits."""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Bernoulli, Independent


class BernoulliLikelihood(nn.Module):
    @classmethod
    def from_config(cls, config) -> "BernoulliLikelihood":
        return cls()

    @staticmethod
    def param_size(x_dim: int) -> int:
        return x_dim

    def forward(self, logits: torch.Tensor) -> Independent:
        return Independent(Bernoulli(logits=logits, validate_args=False), 1, validate_args=False)

    @staticmethod
    def mean_image(dist: Independent) -> torch.Tensor:
        return dist.mean
