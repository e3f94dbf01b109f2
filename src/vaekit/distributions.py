"""Distributions over integer levels 0..L-1 that torch.distributions lacks: the discretized
logistic, the PixelCNN++ mixture of them (Salimans et al. 2017), and the discretized Gaussian.

Level k owns the bin [k - 1/2, k + 1/2] of a continuous distribution (loc, scale in levels);
the edge bins reach to -inf and +inf. Log-probabilities never subtract two probabilities:
- logistic: with a = (k + 1/2 - loc) / scale, b = (k - 1/2 - loc) / scale, log P(k) =
  logsigmoid(a) + logsigmoid(-b) + log(-expm1(-1 / scale)), each term exact;
- Gaussian: log(Phi(a) - Phi(b)) from log Phi on the bin's side of the location, and where
  1/scale < 1e-3 the density at the bin's midpoint times its width (relative error < 1e-7).
No NaN or infinity comes out for finite parameters in float32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import Distribution, constraints
from torch.special import log_ndtr as _torch_log_ndtr


def _log1mexp(d: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(d)) for d < 0, accurate near 0 and far below it."""
    return torch.where(d > -math.log(2), torch.log(-torch.expm1(d)), torch.log1p(-torch.exp(d)))


def logistic_log_prob(k: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor,
                      levels: int) -> torch.Tensor:
    a = (k + 0.5 - loc) / scale
    b = (k - 0.5 - loc) / scale
    bin_ = F.logsigmoid(a) + F.logsigmoid(-b) + _log1mexp(-1.0 / scale)
    return torch.where(k <= 0, F.logsigmoid(a), torch.where(k >= levels - 1, F.logsigmoid(-b),
                                                             bin_))


def log_ndtr(x: torch.Tensor) -> torch.Tensor:
    """log Phi(x) with a gradient that is right far in the lower tail (torch's backward loses it
    below about -40 in float32): for x < -20 the asymptotic series log Phi(x) = -x^2/2 - log(-x)
    - log(2 pi)/2 + log(1 - 1/x^2 + 3/x^4 - 15/x^6 + 105/x^8) (truncation error below 1e-10)."""
    tail = x < -20
    t = torch.where(tail, x, -20.0).clamp(min=-1e15)
    r = 1 / (t * t)
    series = -0.5 * t * t - torch.log(-t) - 0.5 * math.log(2 * math.pi) + torch.log1p(
        r * (-1 + r * (3 + r * (-15 + r * 105))))
    return torch.where(tail, series, _torch_log_ndtr(torch.where(tail, 0.0, x)))


def gaussian_log_prob(k: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor,
                      levels: int) -> torch.Tensor:
    a = (k + 0.5 - loc) / scale
    b = (k - 0.5 - loc) / scale
    above = (a + b) > 0                          # the bin lies above the location: mirror it
    hi, lo = torch.where(above, -b, a), torch.where(above, -a, b)
    wide = log_ndtr(hi) + _log1mexp((log_ndtr(lo) - log_ndtr(hi)).clamp(max=-1e-30))
    mid = (k - loc) / scale
    narrow = -0.5 * mid ** 2 - 0.5 * math.log(2 * math.pi) - torch.log(scale)
    bin_ = torch.where(1.0 / scale < 1e-3, narrow, wide)
    return torch.where(k <= 0, log_ndtr(a), torch.where(k >= levels - 1, log_ndtr(-b), bin_))


class _Discretized(Distribution):
    """Shared by the two single distributions: loc and scale on the level scale."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    has_rsample = False

    def __init__(self, loc, scale, levels: int = 256, validate_args=None):
        self.loc, self.scale = torch.broadcast_tensors(torch.as_tensor(loc),
                                                       torch.as_tensor(scale))
        self.levels = int(levels)
        super().__init__(self.loc.shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        return constraints.integer_interval(0, self.levels - 1)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        new.loc, new.scale = self.loc.expand(batch_shape), self.scale.expand(batch_shape)
        new.levels = self.levels
        super(_Discretized, new).__init__(torch.Size(batch_shape), validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self._log_prob(value.to(self.loc.dtype), self.loc, self.scale, self.levels)

    def sample(self, sample_shape=torch.Size()):
        with torch.no_grad():
            y = self._continuous(self._extended_shape(sample_shape))
            return y.round().clamp(0, self.levels - 1)

    @property
    def mode(self):
        """The likeliest level: of the unit bins, the one nearest loc (the density is symmetric
        and unimodal), unless an edge bin, which holds a whole tail, is likelier."""
        inner = self.loc.round().clamp(0, self.levels - 1)
        k = torch.stack([inner, torch.zeros_like(inner), torch.full_like(inner, self.levels - 1)])
        best = self._log_prob(k, self.loc, self.scale, self.levels).argmax(0, keepdim=True)
        return k.gather(0, best).squeeze(0)

    @property
    def mean(self):
        """E[k] = sum over k = 1..L-1 of P(K >= k), by chunks of levels."""
        total = torch.zeros_like(self.loc)
        for start in range(1, self.levels, 64):
            k = torch.arange(start, min(start + 64, self.levels), dtype=self.loc.dtype,
                             device=self.loc.device).view(-1, *([1] * self.loc.dim()))
            total = total + self._upper_tail((k - 0.5 - self.loc) / self.scale).sum(0)
        return total


class DiscretizedLogistic(_Discretized):
    """Levels 0..L-1 from a logistic with location `loc` and scale `scale` (levels)."""
    _log_prob = staticmethod(logistic_log_prob)

    def _continuous(self, shape):
        u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device).clamp(1e-7, 1 - 1e-7)
        return self.loc + self.scale * (torch.log(u) - torch.log1p(-u))

    @staticmethod
    def _upper_tail(t):
        return torch.sigmoid(-t)


class DiscretizedGaussian(_Discretized):
    """Levels 0..L-1 from a Gaussian with mean `loc` and deviation `scale` (levels)."""
    _log_prob = staticmethod(gaussian_log_prob)

    def _continuous(self, shape):
        return self.loc + self.scale * torch.randn(shape, dtype=self.loc.dtype,
                                                   device=self.loc.device)

    @staticmethod
    def _upper_tail(t):
        return torch.special.ndtr(-t)


class DiscretizedLogisticMixture(Distribution):
    """A pixel of C channels (1 grey, 3 colour) from a mixture of M discretized logistics with
    PixelCNN++'s coupling: within a component, green's location is loc_g + c_0 (k_r - h) and
    blue's loc_b + c_1 (k_r - h) + c_2 (k_g - h), h = (L - 1) / 2. logits [..., M]; loc, scale
    [..., M, C] (levels); coeffs [..., M, 3]. batch_shape [...], event_shape [C]."""
    arg_constraints = {"logits": constraints.real_vector,
                       "loc": constraints.independent(constraints.real, 2),
                       "scale": constraints.independent(constraints.positive, 2)}
    has_rsample = False

    def __init__(self, logits, loc, scale, coeffs=None, levels: int = 256, validate_args=None):
        self.logits, self.loc, self.scale = logits, loc, scale
        channels = loc.shape[-1]
        self.coeffs = coeffs if coeffs is not None else loc.new_zeros(*loc.shape[:-1], 3)
        self.levels, self.channels = int(levels), channels
        if channels not in (1, 3):
            raise ValueError(f"a mixture pixel has 1 or 3 channels, got {channels}")
        super().__init__(loc.shape[:-2], torch.Size([channels]), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.independent(constraints.integer_interval(0, self.levels - 1), 1)

    def _locations(self, k: torch.Tensor, loc=None, coeffs=None) -> torch.Tensor:
        """Each component's channel locations given the levels k [..., 1, C]: [..., M, C]."""
        loc = self.loc if loc is None else loc
        if self.channels == 1:
            return loc
        c = self.coeffs if coeffs is None else coeffs
        h = (self.levels - 1) / 2
        r, g = k[..., 0] - h, k[..., 1] - h
        return torch.stack(torch.broadcast_tensors(
            loc[..., 0], loc[..., 1] + c[..., 0] * r, loc[..., 2] + c[..., 1] * r + c[..., 2] * g),
            -1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = value.to(self.loc.dtype).unsqueeze(-2)                       # [..., 1, C]
        per = logistic_log_prob(k, self._locations(k), self.scale, self.levels).sum(-1)
        return torch.logsumexp(F.log_softmax(self.logits, -1) + per, -1)

    def sample(self, sample_shape=torch.Size()):
        """A component per pixel, then its channels in order, each given the ones before."""
        with torch.no_grad():
            pick = torch.distributions.Categorical(logits=self.logits).sample(sample_shape)
            return self._channels(pick, lambda level: level.sample())

    @property
    def mode(self):
        """Not the mixture's mode (with coupled channels, a search over L^3 colours): the
        likeliest component's, channel by channel, each channel at its discretized logistic's
        mode given the levels chosen before it (as `sample` draws them)."""
        with torch.no_grad():
            return self._channels(self.logits.argmax(-1), lambda level: level.mode)

    def _channels(self, pick: torch.Tensor, level) -> torch.Tensor:
        """The channels of component `pick` [*S, ...] in order, each `level(d)` of its own
        discretized logistic d given the channels before: [*S, ..., C]."""
        shape, index = pick.shape, pick[..., None, None]

        def chosen(t):                                      # [..., M, n] -> [..., n]
            t = t.expand(*shape, *t.shape[-2:])
            return t.gather(-2, index.expand(*shape, 1, t.shape[-1])).squeeze(-2)

        loc, scale, coeffs = chosen(self.loc), chosen(self.scale), chosen(self.coeffs)
        out = torch.zeros(*shape, self.channels, dtype=loc.dtype, device=loc.device)
        for c in range(self.channels):
            location = self._locations(out.unsqueeze(-2), loc.unsqueeze(-2),
                                       coeffs.unsqueeze(-2))[..., 0, c]
            out[..., c] = level(DiscretizedLogistic(location, scale[..., c], self.levels,
                                                    validate_args=False))
        return out

    @property
    def mean(self):
        """Exact for the first channel: the mixture of the components' means. Green and blue:
        each component's coupling at its own mean of the channels before (a picture's mean)."""
        weights = self.logits.softmax(-1).unsqueeze(-1)                     # [..., M, 1]
        first = DiscretizedLogistic(self.loc[..., :1], self.scale[..., :1], self.levels,
                                    validate_args=False).mean
        if self.channels == 1:
            return (weights * first).sum(-2)
        h = (self.levels - 1) / 2
        c = self.coeffs
        green = DiscretizedLogistic(self.loc[..., 1] + c[..., 0] * (first[..., 0] - h),
                                    self.scale[..., 1], self.levels, validate_args=False).mean
        blue = DiscretizedLogistic(self.loc[..., 2] + c[..., 1] * (first[..., 0] - h)
                                   + c[..., 2] * (green - h), self.scale[..., 2],
                                   self.levels, validate_args=False).mean
        return (weights * torch.stack([first[..., 0], green, blue], -1)).sum(-2)
