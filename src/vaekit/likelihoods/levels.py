"""What the likelihoods of integer levels share (dlogistic_mix.py, dgaussian.py): the networks
see k / (L - 1) in [0, 1], and a distribution over 0..L-1 (distributions.py) scores k, so log
p(x) is a probability and bits/dim need no change of scale. L comes from the data unless the
spec names it; data that are not k / (L - 1) are refused. Data [D] count as one channel.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch.distributions import Distribution

from ..distributions import DiscretizedGaussian
from ..errors import VaekitError
from ..registry import Spec, check
from ..settings import setting
from .base import Likelihood


class OnUnitScale(Distribution):
    """Levels 0..L-1 seen on the data's scale x = k / (L - 1): log_prob rounds x back to k (no
    Jacobian), sample and mean divide by L - 1. `pixel_last`: the base's event is a pixel's
    channels; `sum_dims`: the trailing data dims log_prob sums over (0: per element)."""
    arg_constraints: dict = {}

    def __init__(self, base: Distribution, levels: int, event_shape: tuple[int, ...],
                 pixel_last: bool, sum_dims: int):
        self.base, self.levels, self.pixel_last, self.sum_dims = base, levels, pixel_last, sum_dims
        self.image = len(event_shape) == 3
        pixel_dims = len(event_shape) - self.image if pixel_last else len(event_shape)
        lead = base.batch_shape[:len(base.batch_shape) - pixel_dims]
        cut = len(event_shape) - sum_dims
        super().__init__(lead + tuple(event_shape[:cut]), torch.Size(event_shape[cut:]),
                         validate_args=False)

    def _to_levels(self, x: torch.Tensor) -> torch.Tensor:
        k = (x * (self.levels - 1)).round()
        if not self.pixel_last:
            return k
        return k.movedim(-3, -1) if self.image else k.unsqueeze(-1)

    def _to_data(self, k: torch.Tensor) -> torch.Tensor:
        if self.pixel_last:
            k = k.movedim(-1, -3) if self.image else k.squeeze(-1)
        return k / (self.levels - 1)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        lp = self.base.log_prob(self._to_levels(x))       # per pixel, or per element
        if self.pixel_last and self.image and not self.sum_dims:
            pad = lp.new_zeros(1).expand(*lp.shape[:-2], x.shape[-3] - 1, *lp.shape[-2:])
            return torch.cat([lp.unsqueeze(-3), pad], -3)
        dims = self.sum_dims - (self.pixel_last and self.image)
        return lp.sum(tuple(range(-dims, 0))) if dims > 0 else lp

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self._to_data(self.base.sample(sample_shape))

    @property
    def mean(self) -> torch.Tensor:
        return self._to_data(self.base.mean)

    @property
    def mode(self) -> torch.Tensor:
        return self._to_data(self.base.mode)


class LevelsLikelihood(Likelihood):
    """A likelihood over integer levels 0..L-1 of every value of an example. Its pictures
    are draws by default: pictures in the data's own levels (base.py says why)."""
    show = "draw"

    def __init__(self, event_shape: tuple[int, ...], levels: int):
        super().__init__(event_shape)
        self.levels = levels
        image = len(self.event_shape) == 3
        self.channels = self.event_shape[0] if image else 1
        self.pixels = self.event_shape[1:] if image else self.event_shape   # (H, W) or (D,)

    def per_pixel(self, params: torch.Tensor) -> torch.Tensor:
        """[..., P, *pixels] -> [..., *pixels, P]: each pixel's parameters last."""
        return params.movedim(-len(self.pixels) - 1, -1)

    def unit(self, base: Distribution, pixel_last: bool) -> OnUnitScale:
        return OnUnitScale(base, self.levels, self.event_shape, pixel_last, self.event_dims)

    def mean_image(self, dist: OnUnitScale) -> torch.Tensor:
        return dist.mean

    @staticmethod
    def pixelwise(dist: OnUnitScale) -> OnUnitScale:
        return OnUnitScale(dist.base, dist.levels, dist.event_shape, dist.pixel_last, 0)

    def baseline(self, mean: torch.Tensor, std: torch.Tensor) -> OnUnitScale:
        """Each value from a discretized Gaussian with the training data's mean and spread."""
        scale = self.levels - 1
        base = DiscretizedGaussian(mean * scale, (std * scale).clamp_min(0.5), self.levels,
                                   validate_args=False)
        return OnUnitScale(base, self.levels, tuple(mean.shape), False, 0)

    def check(self, x: torch.Tensor) -> None:
        k = x * (self.levels - 1)
        if (x < 0).any() or (x > 1).any() or ((k - k.round()).abs() > 1e-3).any():
            raise VaekitError(f"a discrete likelihood scores integer levels 0..{self.levels - 1}"
                              f": these data are not k / {self.levels - 1} for integers k (give "
                              "it 8-bit data with --preprocess none, or set its levels)")


@dataclass
class LevelsSpec(Spec):
    """A scale floor (in levels) and the number of levels (None: the data's)."""
    data = "levels"
    min_scale: float = setting(0.05, "scale floor in levels")
    levels: int | None = setting(None, "levels scored (set from the data when training "
                                 "starts; --bits chooses them)", flag=None, none="the data's")

    def validate(self):
        check(self.min_scale > 0 and math.isfinite(self.min_scale),
              f"min_scale must be > 0, got {self.min_scale}")
        check(self.levels is None or 2 <= self.levels <= 65536,
              f"levels must be in 2..65536, got {self.levels}")
        return self

    def for_levels(self, levels: int | None):
        """This spec with the data's number of levels, when it names none."""
        if self.levels is not None:
            if levels is not None and levels != self.levels:
                raise VaekitError(f"the {self.name} likelihood has {self.levels} levels, the "
                                  f"data {levels}; use --bits or data with {self.levels} levels")
            return self
        if levels is None:        # no data at hand (a model built directly): 256 when built
            return self
        return dataclasses.replace(self, levels=levels)
