"""From a Dataset and a DataConfig to train / validation / test data ready for a model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import DataConfig
from ..errors import VaekitError
from .batching import apply
from .sources import Dataset, load_dataset


@dataclass
class Splits:
    dataset: Dataset
    preprocess: str             # binarize | dequantize | none
    train: np.ndarray           # [N, D] in [0, 1], raw: preprocessed afresh per batch
    valid: torch.Tensor         # fixed preprocessing, seeded
    test: torch.Tensor          # fixed preprocessing, seeded
    test_labels: np.ndarray | None

    @property
    def levels(self) -> int | None:
        return self.dataset.levels


def prepare(config: DataConfig, likelihood: str, dataset: Dataset | None = None) -> Splits:
    dataset = dataset or load_dataset(config.dataset)
    preprocess = config.resolved_preprocess(likelihood)
    if preprocess == "dequantize" and dataset.levels is None:
        if config.preprocess == "dequantize":
            raise VaekitError(f"{dataset.name}: continuous data cannot be dequantized; "
                              "use --preprocess none")
        preprocess = "none"
    rng = np.random.default_rng(config.seed)
    perm = rng.permutation(len(dataset.train))
    n_valid = int(round(config.valid_fraction * len(dataset.train)))
    if len(dataset.train) - n_valid < 1:
        raise VaekitError(f"{dataset.name}: no training examples left after the validation split")
    valid_raw, train = dataset.train[perm[:n_valid]], dataset.train[perm[n_valid:]]
    if n_valid == 0:  # no validation split asked for: validate on a fixed slice of train
        valid_raw = train[: min(len(train), 1000)]

    def fixed(x: np.ndarray, offset: int) -> torch.Tensor:
        return torch.from_numpy(apply(x, preprocess, dataset.levels,
                                      np.random.default_rng(config.seed + offset)))

    return Splits(dataset, preprocess, train, fixed(valid_raw, 1), fixed(dataset.test, 2),
                  dataset.test_labels)
