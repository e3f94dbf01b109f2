"""The one implementation of vaekit's preprocessing (torch), for training batches (drawn on the
data's device from a checkpointed torch.Generator) and for the fixed preprocessing of the
validation and test splits (`fixed`, from numpy's default_rng(seed), the same in every version).
- binarize: x_bin ~ Bernoulli(x), afresh each time a batch is used (dynamic binarization);
- dequantize: x = (k + u) / L for levels k in 0..L-1 and u ~ U(0, 1);
- unit: x = k / (L - 1) for levels, the data themselves for continuous data.
Levels are binarized on the CPU from one random byte per pixel (8-bit data: 0.37 ms for a batch
of 128 Fashion-MNIST images at one thread, against 0.39 ms for the float32 uniforms alone, 0.35
ms for a hand loop's numpy draw and 0.84 ms for the rejection loop this replaced; in blocks of
41 batches, batching.py, 0.26-0.33 ms a batch at 2 threads), on an accelerator against a float32
uniform (no host synchronisation).
"""

from __future__ import annotations

import numpy as np
import torch

Generator = torch.Generator | np.random.Generator


def tensor(a) -> torch.Tensor:
    """`a` as a tensor, sharing a numpy array's memory unless it cannot (then copied)."""
    if isinstance(a, torch.Tensor):
        return a
    a = np.asarray(a)
    if not a.flags.writeable or any(s < 0 for s in a.strides):
        a = np.array(a, order="C")
    return torch.from_numpy(a)


def uniform(shape: torch.Size, generator: Generator, device=None) -> torch.Tensor:
    """U(0, 1) float32 draws on `device`, from a torch or (for `fixed`) a numpy Generator."""
    if isinstance(generator, np.random.Generator):
        return torch.from_numpy(generator.random(tuple(shape), dtype=np.float32)).to(device)
    return torch.rand(shape, generator=generator, device=device)


def random_bytes(shape: torch.Size, generator: torch.Generator) -> torch.Tensor:
    """Uniform uint8 values, eight from each 64-bit draw."""
    n = 1
    for s in shape:
        n *= s
    words = torch.empty(-(-n // 8), dtype=torch.int64, device=generator.device)
    words.random_(-2 ** 63, 2 ** 63 - 1, generator=generator)
    return words.view(torch.uint8)[:n].view(shape)


def binarize_levels(k: torch.Tensor, m: int, generator: torch.Generator) -> torch.Tensor:
    """Bernoulli(k / m) draws [float32] for integer levels k in 0..m (m <= 255)."""
    if k.device.type != "cpu":
        return (torch.rand(k.shape, generator=generator, device=k.device) * m < k).float()
    below = _below_digits(k, 255 // m, generator) if 255 % m == 0 else \
        _below_rejection(k, m, generator)
    return below.view(torch.uint8).float()      # bool -> uint8 -> float: 4x the speed of bool's


def _below_digits(k: torch.Tensor, scale: int, generator: torch.Generator) -> torch.Tensor:
    """u < k / m for u ~ U(0, 1), exactly, where m divides 255 (8-bit data: m = 255; also m = 1,
    3, 5, 15, 17, 51, 85): k / m = c / 255 with c = k 255 / m, whose base-256 digits are c, c,
    c, ...; u's are random bytes r1, r2, ..., and the first that differs from c decides (r < c:
    below). One byte per pixel decides all but 1 in 256, which draw their next byte: no
    rejection, no bias."""
    c = k if scale == 1 else k * scale
    r = random_bytes(k.shape, generator)
    below = r < c
    flat, digit = below.view(-1), c.reshape(-1)
    ties = rare_true(r == c)
    while ties.numel():
        d, r = digit[ties], random_bytes(ties.shape, generator)
        flat[ties] = r < d
        ties = ties[r == d]
    return below


def rare_true(mask: torch.Tensor) -> torch.Tensor:
    """Flat indices of the True entries of a bool `mask` where they are rare (e.g. 1 in 256):
    `nonzero` over its 8-byte words, then over the 8 entries of each word that holds one (a
    scan of 8 times fewer entries: 0.13 -> 0.02 ms for a batch of Fashion-MNIST's pixels)."""
    flat = mask.reshape(-1)
    whole = flat.numel() - flat.numel() % 8
    if whole == 0 or flat.storage_offset() % 8:
        return flat.nonzero().squeeze(1)
    words = flat[:whole].view(torch.int64).nonzero().squeeze(1)
    near = (words.unsqueeze(1) * 8 + torch.arange(8, device=flat.device)).reshape(-1)
    tail = flat[whole:].nonzero().squeeze(1) + whole
    return torch.cat([near[flat[near]], tail])


def _below_rejection(k: torch.Tensor, m: int, generator: torch.Generator) -> torch.Tensor:
    """r < k for r uniform on 0..m-1: P = k / m. r is a random byte redrawn while at or above the
    largest multiple of m below 256, then taken mod m."""
    limit = (256 // m) * m
    r = random_bytes(k.shape, generator)
    flat = r.view(-1)
    redo = (flat >= limit).nonzero().squeeze(1) if limit < 256 else flat[:0]
    while redo.numel():
        flat[redo] = random_bytes(redo.shape, generator)
        redo = redo[flat[redo] >= limit]
    return (r % m if limit > m else r) < k


def binarize(x: torch.Tensor, generator: Generator) -> torch.Tensor:
    """Bernoulli(x) draws [float32] for x in [0, 1] (a tensor or a numpy array)."""
    x = tensor(x)
    return (uniform(x.shape, generator, x.device) < x).float()


def dequantize(k: torch.Tensor, levels: int, generator: Generator) -> torch.Tensor:
    """(k + u) / L, u ~ U(0, 1), for integer levels k (a tensor or a numpy array)."""
    k = tensor(k)
    return (k.float() + uniform(k.shape, generator, k.device)) / levels


def unit(a: torch.Tensor, levels: int | None) -> torch.Tensor:
    """[0, 1] float32 values: k / (L - 1) for levels, the data themselves otherwise."""
    return a.float() if levels is None else a.float() / (levels - 1)


def draw(a: torch.Tensor, preprocess: str, levels: int | None,
         generator: torch.Generator) -> torch.Tensor:
    """One batch's preprocessing: float32 [B, *event]."""
    if preprocess == "binarize":
        return binarize(a, generator) if levels is None else \
            binarize_levels(a, levels - 1, generator)
    if preprocess == "dequantize":
        return dequantize(a, levels, generator)
    return unit(a, levels)


def fixed(a, preprocess: str, levels: int | None, seed: int) -> torch.Tensor:
    """One seeded preprocessing of a whole split [float32] (a numpy array or a tensor), the same
    in every version: uniforms from numpy's default_rng(seed), binarization against k / (L - 1)."""
    a = tensor(a)
    rng = np.random.default_rng(seed)
    if preprocess == "binarize":
        return binarize(unit(a, levels), rng)
    if preprocess == "dequantize":
        return dequantize(a, levels, rng)
    return unit(a, levels)
