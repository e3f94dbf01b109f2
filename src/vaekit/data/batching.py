"""Batches of in-memory data on the training device, which hold the data there when they fit
(uint8 levels stay uint8) and draw the shuffling and preprocessing there (draws.py), a block of
batches at a time.
"""

from __future__ import annotations

import math

import torch

from .. import devices
from .draws import draw

# values preprocessed in one pass (data/draws.py): 41 batches of 128 Fashion-MNIST images (16 MB
# of float32) drew in 0.26-0.33 ms a batch, one at a time in 0.44-0.51 (2 threads); the whole
# epoch at once in 0.35-0.44 (out of cache)
BLOCK_VALUES = 1 << 22


class Batches:
    """Shuffled minibatches of `x` [N, *event] (uint8 levels, or float in [0, 1]), preprocessed
    afresh as float32 on `generator`'s device (a torch.Generator, or a CPU seed). With `shard` (a
    process's rows, e.g. slice(rank, None, world_size)) each global batch is drawn whole in every
    process and only the shard's rows are yielded, so the processes stay in step."""

    def __init__(self, x, batch_size: int, preprocess: str, levels: int | None,
                 generator: torch.Generator | int = 0, shard: slice = slice(None)):
        if not isinstance(generator, torch.Generator):
            generator = torch.Generator().manual_seed(int(generator))
        self.generator, self.device = generator, torch.device(generator.device)
        self.x = place(x, self.device)
        self.batch_size, self.shard = batch_size, shard
        self.preprocess, self.levels = preprocess, levels

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        return (xb for _, xb in self.with_rows())

    def with_rows(self):
        """(row indices into x on the device, batch) pairs: for state kept per data point. The
        batches are drawn a block at a time (`block_batches`), in one pass of each operation."""
        perm = torch.randperm(len(self.x), generator=self.generator, device=self.device)
        span = self.batch_size * self.block_batches
        for start in range(0, len(self.x), span):
            block = perm[start:start + span]
            raw = self.x.index_select(0, block.to(self.x.device))
            drawn = draw(raw.to(self.device, non_blocking=True), self.preprocess, self.levels,
                         self.generator)
            for i in range(0, len(block), self.batch_size):
                rows, xb = block[i:i + self.batch_size], drawn[i:i + self.batch_size]
                yield rows[self.shard], xb[self.shard]

    @property
    def block_batches(self) -> int:
        """Batches drawn together: about BLOCK_VALUES values, at least one batch."""
        values = self.batch_size * math.prod(self.x.shape[1:])
        return max(1, BLOCK_VALUES // max(values, 1))


def draw_rows(batches: Batches, n: int):
    """n rows drawn with replacement and preprocessed as batches are (M2's labelled set)."""
    rows = torch.randint(len(batches.x), (n,), generator=batches.generator, device=batches.device)
    raw = batches.x.index_select(0, rows.to(batches.x.device))
    return rows, draw(raw.to(batches.device), batches.preprocess, batches.levels,
                      batches.generator)


def place(x, device: torch.device) -> torch.Tensor:
    """x on `device` when it fits in half its free memory, else in pinned CPU memory."""
    x = torch.as_tensor(x)
    free = devices.free_memory(device)
    if free is None or x.nbytes <= free // 2:
        return x.to(device)
    return x.pin_memory() if device.type == "cuda" else x
