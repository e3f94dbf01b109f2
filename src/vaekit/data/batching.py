"""Batches of in-memory data as tensors, with the preprocessing that a likelihood needs.

- binarize: x_bin ~ Bernoulli(x). Training draws afresh each time a batch is used (dynamic
  binarization); evaluation uses one fixed, seeded draw.
- dequantize: x = (k + u) / L for k in 0..L-1 grey levels and u ~ U(0, 1) (uniform
  dequantization, so a continuous density is a bound on the discrete likelihood).

Uniforms come from numpy's PCG64 generator: here it is several times faster than
torch.bernoulli, and its state is plain JSON, so a resumed run draws the same batches.
"""

from __future__ import annotations

import numpy as np
import torch


def binarize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (rng.random(x.shape, dtype=np.float32) < x).astype(np.float32)


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

    Iterating yields float32 tensors [batch_size, D] (the last one may be smaller).
    """

    def __init__(self, x: np.ndarray, batch_size: int, preprocess: str, levels: int | None,
                 rng: np.random.Generator):
        self.x, self.batch_size = x, batch_size
        self.preprocess, self.levels, self.rng = preprocess, levels, rng

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        perm = self.rng.permutation(len(self.x))
        for i in range(0, len(self.x), self.batch_size):
            xb = self.x[perm[i:i + self.batch_size]]
            yield torch.from_numpy(apply(xb, self.preprocess, self.levels, self.rng))
