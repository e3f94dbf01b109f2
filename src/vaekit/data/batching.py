"""Batches of in-memory data as float32 tensors, with the preprocessing a likelihood needs.

- binarize: x_bin ~ Bernoulli(x). Training draws afresh each time a batch is used (dynamic
  binarization); evaluation uses one fixed, seeded draw.
- dequantize: x = (k + u) / L for levels k in 0..L-1 and u ~ U(0, 1) (uniform dequantization,
  so a continuous density is a bound on the discrete likelihood).
- none: x = k / (L - 1) for levels, the data themselves for continuous data.

Random numbers come from numpy's PCG64 generator: here it is several times faster than
torch.bernoulli, and its state is plain JSON, so a resumed run draws the same batches. Levels
(uint8) are binarized from one random byte per pixel, exactly: see `binarize_levels`.
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


def dequantize(k: np.ndarray, levels: int, rng: np.random.Generator) -> np.ndarray:
    """(k + u) / L for integer levels k (any dtype holding integers)."""
    return ((k.astype(np.float32) + rng.random(k.shape, dtype=np.float32)) / levels
            ).astype(np.float32)


def unit(a: np.ndarray, levels: int | None) -> np.ndarray:
    """[0, 1] float32 values: k / (L - 1) for levels, the data themselves otherwise."""
    if levels is None:
        return a.astype(np.float32, copy=False)
    return a.astype(np.float32) / np.float32(levels - 1)


def fixed(a: np.ndarray, preprocess: str, levels: int | None,
          rng: np.random.Generator) -> np.ndarray:
    """One seeded preprocessing of a whole split (validation and test data). Binarization
    compares float uniforms with k / (L - 1), as vaekit always has, so that test sets and
    their NLLs stay comparable across versions."""
    if preprocess == "binarize":
        return binarize(unit(a, levels), rng)
    if preprocess == "dequantize":
        return dequantize(a, levels, rng)
    return unit(a, levels)


class Batches:
    """Shuffled minibatches of `x` [N, *event] (uint8 levels, or float in [0, 1]), freshly
    preprocessed each epoch.

    Iterating yields float32 tensors [batch_size, *event] (the last one may be smaller). With
    `shard` (a data-parallel process's rows, e.g. slice(rank, None, world_size)) each global
    batch is drawn and preprocessed whole, from the same RNG in every process, and only the
    shard's rows are yielded: the processes stay in step and together see the global batch.
    """

    def __init__(self, x: np.ndarray, batch_size: int, preprocess: str, levels: int | None,
                 rng: np.random.Generator, shard: slice = slice(None)):
        self.x, self.batch_size, self.shard = x, batch_size, shard
        self.preprocess, self.levels, self.rng = preprocess, levels, rng

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        return (xb for _, xb in self.with_rows())

    def draw(self, a: np.ndarray) -> np.ndarray:
        """One batch's preprocessing, from the data RNG."""
        if self.levels is None:
            return binarize(a, self.rng) if self.preprocess == "binarize" else a
        if self.preprocess == "binarize":
            return binarize_levels(a, self.levels - 1, self.rng)
        if self.preprocess == "dequantize":
            return dequantize(a, self.levels, self.rng)
        return unit(a, self.levels)

    def with_rows(self):
        """(row indices into x, batch) pairs: for state kept per data point."""
        perm = self.rng.permutation(len(self.x))
        for i in range(0, len(self.x), self.batch_size):
            rows = perm[i:i + self.batch_size]
            xb = self.draw(self.x[rows])
            yield rows[self.shard], torch.from_numpy(xb[self.shard])
