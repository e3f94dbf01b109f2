"""What every likelihood p(x|z) provides; the spec that builds it declares the data it needs.

A likelihood's spec has a class attribute `data` (data/splits.py): "binary", "continuous"
(dequantized values in [0, 1]) or "levels" (the integer levels as k / (L - 1): levels.py);
and `build(event_shape)`, which gives the `Likelihood` module below.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Distribution


class Likelihood(nn.Module):
    """p(x|z) over examples of shape `event_shape` ((C, H, W) for images, (D,) otherwise)."""
    levels: int | None = None     # the discrete levels per value it scores; None: a density

    def __init__(self, event_shape: tuple[int, ...]):
        super().__init__()
        self.event_shape = tuple(event_shape)

    @property
    def event_dims(self) -> int:
        return len(self.event_shape)

    @property
    def dim(self) -> int:
        return math.prod(self.event_shape)

    @property
    def param_shape(self) -> tuple[int, ...]:
        """The decoder's output shape per example (e.g. [2C, H, W] for mean and variance)."""
        raise NotImplementedError

    def forward(self, params: torch.Tensor) -> Distribution:
        """[..., *param_shape] -> batch_shape [...], event_shape the example's."""
        raise NotImplementedError

    def mean_image(self, dist: Distribution) -> torch.Tensor:
        """What a picture shows of p(x|z): [..., *event_shape] in [0, 1]."""
        raise NotImplementedError

    @staticmethod
    def pixelwise(dist: Distribution) -> Distribution:
        """The same distribution pixel by pixel (log_prob per element), for imputation."""
        return dist.base_dist

    def baseline(self, mean: torch.Tensor, std: torch.Tensor) -> Distribution:
        """Every pixel independent, from the training data's per-pixel mean and deviation."""
        raise NotImplementedError

    def check(self, x: torch.Tensor) -> None:
        """Raise VaekitError if x is not data this likelihood can score."""
