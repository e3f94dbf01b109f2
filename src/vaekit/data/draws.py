"""A training batch's random preprocessing, drawn on the data's device from a torch.Generator
(its state is checkpointed, so a resumed run draws the same batches).

- binarize: x_bin ~ Bernoulli(x), afresh each time a batch is used (dynamic binarization);
- dequantize: x = (k + u) / L for levels k in 0..L-1 and u ~ U(0, 1);
- unit: x = k / (L - 1) for levels, the data themselves for continuous data.

Integer levels are binarized exactly on the CPU, from one random byte per pixel (about three
times as fast as comparing float uniforms there); on an accelerator by comparing a float32
uniform with k / m (exact to 2^-24, and with no host synchronisation).
"""

from __future__ import annotations

import torch


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
    # r uniform on 0..m-1 gives P(r < k) = k / m; bytes at or above the largest multiple of m
    # below 256 are drawn again (1 in 256 of them for 8-bit data), so that r mod m is uniform
    limit = (256 // m) * m
    r = random_bytes(k.shape, generator)
    if limit < 256:
        redo = (r >= limit).nonzero(as_tuple=True)
        while redo[0].numel():
            r[redo] = random_bytes(redo[0].shape, generator)
            redo = tuple(i[r[redo] >= limit] for i in redo)
    if limit > m:
        r = r % m
    return (r < k).float()


def binarize(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Bernoulli(x) draws for x in [0, 1]."""
    return (torch.rand(x.shape, generator=generator, device=x.device) < x).float()


def dequantize(k: torch.Tensor, levels: int, generator: torch.Generator) -> torch.Tensor:
    """(k + u) / L, u ~ U(0, 1), for integer levels k."""
    u = torch.rand(k.shape, generator=generator, device=k.device)
    return (k.float() + u) / levels


def unit(a: torch.Tensor, levels: int | None) -> torch.Tensor:
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
