"""Missing-data imputation by the iterated q/p chain (Rezende, Mohamed & Wierstra 2014, sec. 5).

Given x with a mask of missing pixels, start from x~ with the missing pixels filled by `fill`
and repeat T times:
    z ~ q(z | x~),   x~_missing ~ p(x | z)   (observed pixels clamped to their values).
Each step t also gives p(x_missing | z_t); their equal mixture over the steps after `burn_in`
is the chain's predictive distribution of the missing pixels, scored against the truth:
    log p(x_missing) ~= log (1/T') sum_t p(x_missing | z_t)   (nats per image)
next to the baseline that fills every missing pixel independently from the training mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.distributions import Bernoulli, Normal

MASKS = ("top-half", "bottom-half", "left-half", "right-half", "random-half")


def make_mask(kind: str, n: int, x_dim: int, image_shape: tuple[int, ...] | None,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Boolean [n, x_dim], True where a pixel is missing."""
    if kind == "random-half":
        return torch.rand(n, x_dim, generator=generator) < 0.5
    if kind in ("left-half", "right-half"):
        if not image_shape or len(image_shape) != 2:
            raise ValueError(f"mask {kind!r} needs 2-D images")
        h, w = image_shape
        cols = torch.arange(w) < w // 2
        grid = (cols if kind == "left-half" else ~cols).expand(h, w)
        return grid.reshape(1, -1).expand(n, -1).clone()
    if kind in ("top-half", "bottom-half"):       # image rows are contiguous in x
        first = torch.arange(x_dim) < x_dim // 2
        return (first if kind == "top-half" else ~first).expand(n, -1).clone()
    raise ValueError(f"unknown mask {kind!r}; choose from {', '.join(MASKS)}")


@dataclass
class Imputation:
    steps: torch.Tensor            # [T + 1, N, D] x~ after each step (step 0: the filled input)
    means: torch.Tensor            # [T, N, D] mean images of p(x | z_t)
    log_lik: torch.Tensor          # [N] chain's predictive log p(x_missing), nats
    baseline_log_lik: torch.Tensor  # [N] the training-mean baseline, nats
    squared_error: torch.Tensor    # [N] sum over missing pixels of (predictive mean - truth)^2
    baseline_squared_error: torch.Tensor  # [N] the same for the training mean
    missing: torch.Tensor          # [N] missing pixels per image


def baseline_distribution(likelihood: str, train_mean: torch.Tensor, train_std: torch.Tensor):
    """Every pixel independent, from the training data's per-pixel statistics."""
    if likelihood == "bernoulli":
        return Bernoulli(probs=train_mean.clamp(1e-3, 1 - 1e-3))
    return Normal(train_mean, train_std.clamp_min(1e-2))


@torch.no_grad()
def impute(model, x: torch.Tensor, mask: torch.Tensor, train_mean: torch.Tensor,
           train_std: torch.Tensor, steps: int = 50, burn_in: int = 10,
           sample_missing: bool = True) -> Imputation:
    """Run the chain on x [N, D] (the truth) with `mask` [N, D] (True = missing)."""
    if not 0 <= burn_in < steps:
        raise ValueError(f"need 0 <= burn_in < steps, got burn_in={burn_in}, steps={steps}")
    m = mask.to(x.dtype)
    current = x * (1 - m) + train_mean * m
    trail, means, scores = [current], [], []
    for _ in range(steps):
        z = model.posterior(current).sample()
        p = model.observation(z)
        pixel = p.base_dist                                          # per pixel
        scores.append((pixel.log_prob(x) * m).sum(-1))
        means.append(model.likelihood.mean_image(p))
        fill = pixel.sample() if sample_missing else means[-1]
        current = x * (1 - m) + fill * m
        trail.append(current)
    kept = torch.stack(scores[burn_in:]).double()                       # [T', N]
    log_lik = torch.logsumexp(kept, 0) - math.log(len(kept))
    predictive_mean = torch.stack(means[burn_in:]).mean(0)
    base = baseline_distribution(model.config.likelihood, train_mean, train_std)
    baseline = (base.log_prob(x) * m).sum(-1).double()
    return Imputation(torch.stack(trail), torch.stack(means), log_lik, baseline,
                      ((predictive_mean - x).pow(2) * m).sum(-1),
                      ((train_mean - x).pow(2) * m).sum(-1).expand(len(x)), m.sum(-1))
