"""The distributions over integer levels (vaekit/distributions.py), in float64 and for extreme
parameters (scales from 1e-5 to 1e5 levels, locations far outside 0..L-1): probabilities sum to
one; each bin's log-probability equals a numerical integral of the continuous density over the
bin (mpmath, 30 digits, so that bins of probability 1e-10000 are integrated too); the mixture
against an implementation written here from PixelCNN++'s formulas; sampling frequencies
against the probabilities (chi-square); finite values and gradients in float32."""

import itertools
import math

import mpmath
import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from vaekit.distributions import (DiscretizedGaussian, DiscretizedLogistic,
                                  DiscretizedLogisticMixture)

LOCS = [-1e4, -3.0, 0.0, 0.4, 17.3, 127.5, 254.6, 255.0, 400.0, 1e4]
SCALES = [1e-5, 1e-2, 0.3, 1.0, 30.0, 1e3, 1e5]
SINGLES = {"logistic": DiscretizedLogistic, "gaussian": DiscretizedGaussian}
mpmath.mp.dps = 30


def grid(levels=256):
    loc, scale = zip(*itertools.product(LOCS, SCALES))
    return torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64)


@pytest.mark.parametrize("levels", [2, 32, 256])
@pytest.mark.parametrize("name", SINGLES)
def test_probabilities_over_all_levels_sum_to_one(name, levels):
    loc, scale = grid()
    d = SINGLES[name](loc, scale, levels)
    k = torch.arange(levels, dtype=torch.float64).view(-1, 1)
    lp = d.log_prob(k)                                            # [L, params]
    assert torch.isfinite(lp).all()
    assert (lp.exp().sum(0) - 1).abs().max() < 1e-6


def _density(name, loc, scale):
    if name == "logistic":
        return lambda t: mpmath.exp(-(t - loc) / scale) / (
            scale * (1 + mpmath.exp(-(t - loc) / scale)) ** 2)
    return lambda t: mpmath.npdf(t, loc, scale)


def _bin_integral(name, k, loc, scale, levels):
    lo = -mpmath.inf if k == 0 else mpmath.mpf(k) - 0.5
    hi = mpmath.inf if k == levels - 1 else mpmath.mpf(k) + 0.5
    # the peak, a few scales around it, and ever longer steps inwards from each finite end as
    # breakpoints, so that quadrature finds the mass where it is
    s = mpmath.mpf(scale)
    inner = [mpmath.mpf(loc) + j * s for j in (-8, 0, 8)]
    tails = [end + sign * s * 2 ** j for j in range(-2, 40) for end, sign in ((hi, -1), (lo, 1))
             if end not in (mpmath.inf, -mpmath.inf)]
    points = sorted({lo, hi, *[t for t in inner + tails if lo < t < hi]})
    return mpmath.log(mpmath.quad(_density(name, mpmath.mpf(loc), mpmath.mpf(scale)), points))


@pytest.mark.parametrize("name", SINGLES)
def test_each_bin_is_the_integral_of_the_density_over_it(name):
    levels = 256
    rng = np.random.default_rng(0)
    for loc, scale in itertools.product(LOCS, SCALES):
        ks = sorted({0, levels - 1, min(levels - 1, max(0, int(round(loc)))),
                     int(rng.integers(0, levels))})
        d = SINGLES[name](torch.tensor(loc, dtype=torch.float64),
                          torch.tensor(scale, dtype=torch.float64), levels)
        for k in ks:
            got = d.log_prob(torch.tensor(float(k), dtype=torch.float64)).item()
            want = float(_bin_integral(name, k, loc, scale, levels))
            assert got == pytest.approx(want, rel=1e-6, abs=1e-6), (name, loc, scale, k)


def pixelcnn_log_prob(x, logits, mu, log_s, coeffs, levels):
    """PixelCNN++'s discretized logistic mixture as the paper writes it, on x in [-1, 1]:
    x [..., 3], logits [..., M], mu and log_s [..., M, 3] (unit scale), coeffs [..., M, 3].
    The bin's probability is a difference of CDFs, taken on the tail side of the location
    (sigmoid(-t) for 1 - sigmoid(t)), so that float64 keeps its digits for these parameters."""
    x = x.unsqueeze(-2)
    m = torch.stack([mu[..., 0], mu[..., 1] + coeffs[..., 0] * x[..., 0],
                     mu[..., 2] + coeffs[..., 1] * x[..., 0] + coeffs[..., 2] * x[..., 1]], -1)
    inv_s, half = torch.exp(-log_s), 1.0 / (levels - 1)
    plus, minus = inv_s * (x - m + half), inv_s * (x - m - half)
    delta = torch.where(x > m, torch.sigmoid(-minus) - torch.sigmoid(-plus),
                        torch.sigmoid(plus) - torch.sigmoid(minus))
    log_p = torch.where(x < -0.999, torch.log(torch.sigmoid(plus)),
                        torch.where(x > 0.999, torch.log(torch.sigmoid(-minus)), torch.log(delta)))
    return torch.logsumexp(log_p.sum(-1) + torch.log_softmax(logits, -1), -1)


def test_the_mixture_is_pixelcnn_plus_plus():
    levels, g = 256, torch.Generator().manual_seed(0)
    shape = (50,)
    logits = torch.randn(*shape, 5, generator=g, dtype=torch.float64)
    mu = torch.rand(*shape, 5, 3, generator=g, dtype=torch.float64) * 2 - 1
    log_s = torch.rand(*shape, 5, 3, generator=g, dtype=torch.float64) * 3 - 4
    coeffs = torch.tanh(torch.randn(*shape, 5, 3, generator=g, dtype=torch.float64))
    k = torch.randint(0, levels, (*shape, 3), generator=g).double()
    k[:5] = 0
    k[5:10] = levels - 1
    half = (levels - 1) / 2
    mine = DiscretizedLogisticMixture(logits, (mu + 1) * half, log_s.exp() * half, coeffs, levels)
    theirs = pixelcnn_log_prob(k / half - 1, logits, mu, log_s, coeffs, levels)
    assert torch.allclose(mine.log_prob(k), theirs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("channels", [1, 3])
def test_the_mixture_sums_to_one_over_every_pixel_value(channels):
    levels, g = 8, torch.Generator().manual_seed(1)
    loc = torch.tensor([-50.0, 0.0, 3.3, 7.0, 40.0], dtype=torch.float64)
    loc = loc.view(5, 1).expand(5, channels).reshape(1, 5, channels)
    scale = torch.tensor([1e-5, 0.2, 1.0, 5.0, 1e5], dtype=torch.float64).view(1, 5, 1)
    d = DiscretizedLogisticMixture(torch.randn(1, 5, generator=g, dtype=torch.float64), loc,
                                   scale.expand(1, 5, channels),
                                   torch.tanh(torch.randn(1, 5, 3, generator=g,
                                                          dtype=torch.float64)), levels)
    values = torch.tensor(list(itertools.product(range(levels), repeat=channels)),
                          dtype=torch.float64).unsqueeze(1)               # [L^C, 1, C]
    total = d.log_prob(values).exp().sum(0)
    assert (total - 1).abs().max() < 1e-6


def _chi_square(samples: np.ndarray, probs: np.ndarray) -> float:
    counts = np.bincount(samples.astype(int), minlength=len(probs)).astype(float)
    expected = probs * len(samples)
    big = expected >= 5                       # small cells pooled into one
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(expected[big], expected[~big].sum())
    keep = exp > 0
    return chisquare(obs[keep], exp[keep] * obs[keep].sum() / exp[keep].sum()).pvalue


@pytest.mark.parametrize("name", SINGLES)
@pytest.mark.parametrize("loc, scale", [(0.2, 0.7), (100.0, 6.0), (254.0, 3.0), (-2.0, 40.0)])
def test_sampling_frequencies_match_the_probabilities(name, loc, scale):
    torch.manual_seed(0)
    d = SINGLES[name](torch.tensor(loc, dtype=torch.float64),
                      torch.tensor(scale, dtype=torch.float64), 256)
    probs = d.log_prob(torch.arange(256, dtype=torch.float64)).exp().numpy()
    assert _chi_square(d.sample((40000,)).numpy(), probs) > 1e-3


def test_mixture_samples_match_its_probabilities_jointly():
    levels = 4
    torch.manual_seed(0)
    d = DiscretizedLogisticMixture(torch.tensor([[0.3, -0.2]], dtype=torch.float64),
                                   torch.tensor([[[0.5, 2.0, 1.0], [2.5, 1.0, 3.0]]],
                                                dtype=torch.float64),
                                   torch.full((1, 2, 3), 0.8, dtype=torch.float64),
                                   torch.tensor([[[0.5, -0.3, 0.8], [-0.6, 0.2, 0.1]]],
                                                dtype=torch.float64), levels)
    values = torch.tensor(list(itertools.product(range(levels), repeat=3)),
                          dtype=torch.float64).unsqueeze(1)
    probs = d.log_prob(values).exp()[:, 0].numpy()
    s = d.sample((40000,))[:, 0].long()                                    # [n, 3]
    index = (s[:, 0] * levels + s[:, 1]) * levels + s[:, 2]
    assert _chi_square(index.numpy(), probs) > 1e-3


def test_float32_values_and_gradients_stay_finite_for_extreme_parameters():
    loc, scale = grid()
    for name, cls in SINGLES.items():
        loc32 = loc.float().requires_grad_()
        scale32 = scale.float().requires_grad_()
        lp = cls(loc32, scale32, 256).log_prob(torch.arange(256.0).view(-1, 1))
        assert torch.isfinite(lp).all(), name
        lp.sum().backward()
        assert torch.isfinite(loc32.grad).all() and torch.isfinite(scale32.grad).all(), name
    n = len(loc)
    params = [loc.float().view(n, 1, 1).expand(n, 2, 3).clone().requires_grad_(),
              scale.float().view(n, 1, 1).expand(n, 2, 3).clone().requires_grad_(),
              torch.randn(n, 2, requires_grad=True), torch.zeros(n, 2, 3, requires_grad=True)]
    mix = DiscretizedLogisticMixture(params[2], params[0], params[1], torch.tanh(params[3]))
    lp = mix.log_prob(torch.tensor([[0.0, 128.0, 255.0]]).expand(n, 3))
    assert torch.isfinite(lp).all()
    lp.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in params)


@pytest.mark.parametrize("name", SINGLES)
def test_the_mean_is_the_sum_over_levels(name):
    loc, scale = torch.tensor([-5.0, 3.2, 128.0, 300.0]).double(), \
        torch.tensor([0.5, 2.0, 40.0, 10.0]).double()
    d = SINGLES[name](loc, scale, 256)
    k = torch.arange(256, dtype=torch.float64).view(-1, 1)
    assert torch.allclose(d.mean, (d.log_prob(k).exp() * k).sum(0), atol=1e-8)


@pytest.mark.parametrize("levels", [2, 32, 256])
@pytest.mark.parametrize("name", SINGLES)
def test_the_mode_is_the_likeliest_level(name, levels):
    """Against the argmax over every level, on the grid of locations and scales (wide scales
    put the mode in an edge bin, which holds a whole tail)."""
    loc, scale = grid()
    d = SINGLES[name](loc, scale, levels)
    k = torch.arange(levels, dtype=torch.float64).view(-1, 1)
    lp = d.log_prob(k)
    assert (d.log_prob(d.mode) >= lp.max(0).values - 1e-9).all()
    assert ((d.mode == 0) | (d.mode == levels - 1)).any() and d.mode.dtype == loc.dtype


@pytest.mark.parametrize("channels", [1, 3])
def test_the_mixture_mode_is_its_likeliest_components_channel_by_channel(channels):
    """The likeliest component, each channel at its mode given the ones before: with one
    component and one channel, the mixture's own mode."""
    torch.manual_seed(0)
    m, pixels = 4, 50
    logits = torch.randn(pixels, m).double()
    loc, scale = torch.rand(pixels, m, channels).double() * 255, torch.rand(
        pixels, m, channels).double() * 20 + 0.1
    coeffs = torch.rand(pixels, m, 3).double() * 2 - 1
    d = DiscretizedLogisticMixture(logits, loc, scale, coeffs if channels == 3 else None)
    mode = d.mode                                                       # [pixels, C]
    best = logits.argmax(-1)
    picked = loc[torch.arange(pixels), best]                            # [pixels, C]
    single = DiscretizedLogistic(picked[:, 0], scale[torch.arange(pixels), best, 0])
    assert torch.equal(mode[:, 0], single.mode)                         # red: no coupling
    assert torch.equal(mode, d.mode) and mode.shape == (pixels, channels)   # no randomness
    assert torch.equal(mode, mode.round()) and mode.min() >= 0 and mode.max() <= 255
    one = DiscretizedLogisticMixture(logits[:, :1], loc[:, :1, :1], scale[:, :1, :1])
    k = torch.arange(256, dtype=torch.float64).view(-1, 1, 1)
    assert torch.equal(one.mode[:, 0], one.log_prob(k).argmax(0).double())
