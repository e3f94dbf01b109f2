"""Missing-data imputation by the iterated q/p chain (Rezende, Mohamed & Wierstra 2014, sec. 5).

Start from x~ with the missing pixels filled by `fill` and repeat T times:
    z ~ q(z | x~),   x~_missing ~ p(x | z)   (observed pixels clamped to their values).
log p(x_missing) ~= log (1/T') sum_t p(x_missing | z_t) over the steps after `burn_in` (nats
per image) is compared with filling every missing pixel from the training mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import devices, progress

MASKS = ("top-half", "bottom-half", "left-half", "right-half", "random-half")


def make_mask(kind: str, n: int, event_shape: tuple[int, ...],
              generator: torch.Generator | None = None) -> torch.Tensor:
    """Boolean [n, *event_shape], True where missing (a pixel in every channel or none)."""
    image = len(event_shape) == 3
    h, w = event_shape[-2:] if image else (event_shape[-1], 1)
    if kind == "random-half":
        grid = torch.rand(n, 1, h, w, generator=generator) < 0.5
    elif kind in ("top-half", "bottom-half"):
        rows = torch.arange(h) < h // 2
        grid = (rows if kind == "top-half" else ~rows).view(1, 1, h, 1).expand(n, 1, h, w)
    elif kind in ("left-half", "right-half"):
        if not image:
            raise ValueError(f"mask {kind!r} needs images")
        cols = torch.arange(w) < w // 2
        grid = (cols if kind == "left-half" else ~cols).view(1, 1, 1, w).expand(n, 1, h, w)
    else:
        raise ValueError(f"unknown mask {kind!r}; choose from {', '.join(MASKS)}")
    if image:
        return grid.expand(n, event_shape[0], h, w).clone()
    return grid.reshape(n, h).clone()


@dataclass
class Imputation:
    steps: torch.Tensor            # [T + 1, N, *event] x~ after each step (0: the filled input)
    means: torch.Tensor            # [T, N, *event] pictures of p(x | z_t)
    log_lik: torch.Tensor          # [N] chain's predictive log p(x_missing), nats
    baseline_log_lik: torch.Tensor  # [N] the training-mean baseline, nats
    squared_error: torch.Tensor    # [N] sum over missing values of (predictive mean - truth)^2
    baseline_squared_error: torch.Tensor  # [N] the same for the training mean
    missing: torch.Tensor          # [N] missing values per image


def _per_example(values: torch.Tensor) -> torch.Tensor:
    """[N, *event] -> [N], summed over each example."""
    return values.flatten(1).sum(-1)


@torch.no_grad()
def impute(model, x: torch.Tensor, mask: torch.Tensor, train_mean: torch.Tensor,
           train_std: torch.Tensor, steps: int = 50, burn_in: int = 10,
           sample_missing: bool = True) -> Imputation:
    """Run the chain on x [N, *event] with `mask` (True = missing); results on the CPU."""
    if not 0 <= burn_in < steps:
        raise ValueError(f"need 0 <= burn_in < steps, got burn_in={burn_in}, steps={steps}")
    x, mask, train_mean, train_std = (t.to(devices.of(model))
                                      for t in (x, mask, train_mean, train_std))
    m = mask.to(x.dtype)
    current = x * (1 - m) + train_mean * m
    trail, means, scores = [current], [], []
    lik = model.likelihood
    for _ in progress.bar(range(steps), desc=f"imputation chain, {len(x)} images", unit="step"):
        # unchecked (not model.posterior): Gaussian fills may leave [0, 1]; x was the data's
        z = model.latent.posterior(model.posterior_params(current)).sample()
        p = model.observation(z)
        pixel = lik.pixelwise(p)                                     # per pixel
        scores.append(_per_example(pixel.log_prob(x) * m))
        means.append(lik.mean_image(p))
        fill = pixel.sample() if sample_missing else means[-1]
        current = x * (1 - m) + fill * m
        trail.append(current)
    kept = torch.stack(scores[burn_in:]).double()                       # [T', N]
    log_lik = torch.logsumexp(kept, 0) - math.log(len(kept))
    predictive_mean = torch.stack(means[burn_in:]).mean(0)
    baseline = _per_example(lik.baseline(train_mean, train_std).log_prob(x) * m).double()
    return Imputation(*(t.cpu() for t in (
        torch.stack(trail), torch.stack(means), log_lik, baseline,
        _per_example((predictive_mean - x).pow(2) * m),
        _per_example((train_mean - x).pow(2) * m), _per_example(m))))
