"""A dataset as its source gives it: examples that keep their shape, and their number of levels.

Images are [N, C, H, W]; other data [N, D]. Quantized sources (8-bit images and uint8 arrays:
256 levels, or 2^B after `reduce_bits`; digits: 17; bool arrays: 2) hold the levels 0..L-1 as
uint8 with `levels` L; continuous data are float32 in [0, 1] with `levels` None. Labels are
integers 0..K-1; `class_names`, where the source names its classes, gives label k's name.
`fingerprint` names the examples, labels and levels (not the name): what a model saw.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import VaekitError
from .draws import tensor, unit


@dataclass
class Dataset:
    name: str
    train: np.ndarray                 # [N, *event_shape]: uint8 levels, or float32 in [0, 1]
    test: np.ndarray                  # [M, *event_shape]
    train_labels: np.ndarray | None   # [N] int64
    test_labels: np.ndarray | None
    levels: int | None                # L for uint8 levels 0..L-1; None for continuous data
    class_names: tuple[str, ...] | None = None   # label k's name (an image folder's sub-folder)

    def __post_init__(self):
        if self.train.shape[1:] != self.test.shape[1:]:
            raise VaekitError(f"{self.name}: train examples have shape {list(self.train.shape[1:])}"
                              f", test examples {list(self.test.shape[1:])}")
        for labels, part in ((self.train_labels, self.train), (self.test_labels, self.test)):
            if labels is not None and (np.ndim(labels) != 1 or len(labels) != len(part)
                                       or np.asarray(labels).dtype.kind not in "iub"):
                raise VaekitError(f"{self.name}: labels must be one integer per example "
                                  f"({len(part)}), got {np.asarray(labels).dtype} "
                                  f"{list(np.shape(labels))}")
        if self.class_names is not None:
            self.class_names = tuple(str(n) for n in self.class_names)
            top = max((int(np.max(y)) for y in (self.train_labels, self.test_labels)
                       if y is not None and len(y)), default=-1)
            if top >= len(self.class_names):
                raise VaekitError(f"{self.name}: label {top} has no name (names: "
                                  f"{len(self.class_names)})")
        quantized = self.levels is not None
        for part in (self.train, self.test):
            if quantized != (part.dtype == np.uint8):
                raise VaekitError(f"{self.name}: levels={self.levels} needs uint8 data, "
                                  f"float32 otherwise (got {part.dtype})")

    @property
    def event_shape(self) -> tuple[int, ...]:
        """The shape of one example: (C, H, W) for images, (D,) otherwise."""
        return tuple(self.train.shape[1:])

    @property
    def is_image(self) -> bool:
        return len(self.event_shape) == 3

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over the levels and each array's dtype, shape and bytes (train, test, their
        labels): equal for the same data however they were given. About 0.05 s for
        Fashion-MNIST's 55 MB; computed once per Dataset."""
        parts = [None if a is None else np.ascontiguousarray(a) for a in
                 (self.train, self.test, self.train_labels, self.test_labels)]
        h = hashlib.sha256(json.dumps([self.levels] + [
            None if a is None else [a.dtype.str, list(a.shape)] for a in parts]).encode())
        for a in parts:
            if a is not None:
                h.update(a)
        return h.hexdigest()

    def unit(self, a: np.ndarray) -> np.ndarray:
        """Values in [0, 1] as float32: k / (L - 1) for levels, the data themselves otherwise."""
        return unit(tensor(a), self.levels).numpy()


def reduce_bits(dataset: Dataset, bits: int | None) -> Dataset:
    """8-bit data with only their top `bits` bits (2^bits levels: k >> (8 - bits))."""
    if bits is None or dataset.levels == 2 ** bits:
        return dataset
    if dataset.levels != 256:
        raise VaekitError(f"{dataset.name}: --bits takes 8-bit data (256 levels), these have "
                          f"{dataset.levels or 'continuous values'}")
    shift = 8 - bits
    return Dataset(dataset.name, dataset.train >> shift, dataset.test >> shift,
                   dataset.train_labels, dataset.test_labels, 2 ** bits, dataset.class_names)
