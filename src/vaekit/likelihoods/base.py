"""What every likelihood p(x|z) provides; the spec that builds it declares the data it needs.

A likelihood's spec has a class attribute `data` (data/splits.py): "binary", "continuous"
(dequantized values in [0, 1]) or "levels" (the integer levels as k / (L - 1): levels.py);
and `build(event_shape)`, which gives the `Likelihood` module below.

A picture of p(x|z) shows one of SHOWS: its mean, a draw x ~ p(x|z), or its mode. Each
likelihood declares its default (`show`): the mean where it is a picture of the data (a
Bernoulli's grey levels, a Gaussian's f_c(z)), a draw for the discrete likelihoods, whose mean
over a broad spread of levels (a mixture's components: measured, a flat grey square for every
colour icon at 3.96 bits/dim) hides what their draws show.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Distribution

from ..errors import VaekitError


# what a picture of p(x|z) can show, and how a legend says it
SHOWS = {"mean": "mean of p(x|z)", "draw": "x ~ p(x|z)", "mode": "mode of p(x|z)"}


class Likelihood(nn.Module):
    """p(x|z) over examples of shape `event_shape` ((C, H, W) for images, (D,) otherwise)."""
    levels: int | None = None     # the discrete levels per value it scores; None: a density
    show: str = "mean"            # what its pictures show unless told (one of SHOWS)

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
        """The mean of p(x|z) as a picture: [..., *event_shape] in [0, 1]."""
        raise NotImplementedError

    def picture(self, dist: Distribution, show: str | None = None) -> torch.Tensor:
        """p(x|z) as a picture [..., *event_shape] in [0, 1]: its mean, a draw or its mode
        (`show`; None: this likelihood's default)."""
        show = self.shows(show)
        if show == "mean":
            return self.mean_image(dist)
        x = dist.sample() if show == "draw" else dist.mode
        return x.clamp(0.0, 1.0)

    def shows(self, show: str | None = None) -> str:
        """`show`, or this likelihood's default; refused unless one of SHOWS."""
        show = show or self.show
        if show not in SHOWS:
            raise VaekitError(f"a picture shows one of {', '.join(SHOWS)}, not {show!r}")
        return show

    def shown(self, show: str | None = None) -> str:
        """What a picture with `show` shows, for its legend: e.g. "x ~ p(x|z)"."""
        return SHOWS[self.shows(show)]

    @staticmethod
    def pixelwise(dist: Distribution) -> Distribution:
        """The same distribution pixel by pixel (log_prob per element), for imputation."""
        return dist.base_dist

    def baseline(self, mean: torch.Tensor, std: torch.Tensor) -> Distribution:
        """Every pixel independent, from the training data's per-pixel mean and deviation."""
        raise NotImplementedError

    def check(self, x: torch.Tensor) -> None:
        """Raise VaekitError if x is not data this likelihood can score."""
