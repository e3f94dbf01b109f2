"""Batches of in-memory data as tensors, with the preprocessing that a likelihood needs.

- binarize: x_bin ~ Bernoulli(x). Training draws afresh each time a batch is used (dynamic
  binarization); evaluation uses one fixed, seeded draw.
- dequantize: x = (k + u) / L for k in 0..L-1 grey levels and u ~ U(0, 1) (uniform
  dequantization, so a continuous density is a bound on the discrete likelihood).

Random numbers come from numpy's PCG64 generator: here it is several times faster than
torch.bernoulli, and its state is plain JSON, so a resumed run draws the same batches.
Data with a known number of grey levels (8-bit images, the 17-level digits) are binarized from
one random byte per pixel, exactly: see `binarize_levels`.
"""

from __future__ import annotations

import numpy as np
import torch


def binarize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


def binarize_levels(k: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Exact Bernoulli(k / m) draws for integer grey levels k in 0..m (m <= 255), one random
    byte per pixel: with r uniform on 0..m-1, P(r < k) = k / m. Bytes at or above the largest
    multiple of m below 256 are drawn again (1 in 256 of them for 8-bit data), so that r mod m
    is uniform. About twice as fast as comparing float uniforms with k / m."""
    limit = (256 // m) * m
    r = np.frombuffer(rng.bytes(k.size), dtype=np.uint8).reshape(k.shape).copy()
    if limit < 256:
        redo = np.flatnonzero(r >= limit)
        while redo.size:
            r.flat[redo] = np.frombuffer(rng.bytes(redo.size), dtype=np.uint8)
            redo = redo[r.flat[redo] >= limit]
    if limit > m:
        r %= m
    return (r < k).astype(np.float32)


def grey_levels(x: np.ndarray, levels: int | None) -> np.ndarray | None:
    """Integer grey levels k = x * (levels - 1) as uint8, when the data have 2..256 levels
    (k <= 255 must fit in a byte; otherwise binarization compares float uniforms)."""
    if levels is None or not 2 <= levels <= 256:
        return None
    return np.round(x * (levels - 1)).astype(np.uint8)


def dequantize(x: np.ndarray, levels: int, rng: np.random.Generator) -> np.ndarray:
    k = np.round(x * (levels - 1))
    return ((k + rng.random(x.shape, dtype=np.float32)) / levels).astype(np.float32)


def apply(x: np.ndarray, preprocess: str, levels: int | None,
          rng: np.random.Generator) -> np.ndarray:
    if preprocess == "binarize":
        return binarize(x, rng)
    if preprocess == "dequantize":
        return dequantize(x, levels, rng)
    return x


class Batches:
    """Shuffled minibatches of `x` [N, D], freshly preprocessed each epoch.

    Iterating yields float32 tensors [batch_size, D] (the last one may be smaller). With
    `shard` (a data-parallel process's rows, e.g. slice(rank, None, world_size)) each global
    batch is drawn and preprocessed whole, from the same RNG in every process, and only the
    shard's rows are yielded: the processes stay in step and together see the global batch.
    """

    def __init__(self, x: np.ndarray, batch_size: int, preprocess: str, levels: int | None,
                 rng: np.random.Generator, shard: slice = slice(None)):
        self.x, self.batch_size, self.shard = x, batch_size, shard
        self.preprocess, self.levels, self.rng = preprocess, levels, rng
        self.k = grey_levels(x, levels) if preprocess == "binarize" else None

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        return (xb for _, xb in self.with_rows())

    def with_rows(self):
        """(row indices into x, batch) pairs: for state kept per data point."""
        perm = self.rng.permutation(len(self.x))
        for i in range(0, len(self.x), self.batch_size):
            rows = perm[i:i + self.batch_size]
            if self.k is not None:
                xb = binarize_levels(self.k[rows], self.levels - 1, self.rng)
            else:
                xb = apply(self.x[rows], self.preprocess, self.levels, self.rng)
            yield rows[self.shard], torch.from_numpy(xb[self.shard])
