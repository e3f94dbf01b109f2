"""From a Dataset and a DataConfig to train / validation / test data ready for a model.
Preprocessing follows the likelihood's need (binary -> binarize, continuous -> dequantize or
none, levels and raw -> none) unless DataConfig.preprocess names one. The validation and test
splits are preprocessed once, seeded (draws.fixed); the training split per batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import VaekitError
from ..likelihoods import LIKELIHOODS
from .dataset import Dataset, reduce_bits
from .draws import fixed
from .sources import load_dataset

FOR_NEED = {"binary": "binarize", "continuous": "dequantize", "raw": "none", "levels": "none"}


@dataclass
class Splits:
    dataset: Dataset
    preprocess: str             # binarize | dequantize | none
    train: np.ndarray           # [N, *event] as the source gives it: preprocessed per batch
    valid: torch.Tensor         # [V, *event] float32, fixed preprocessing, seeded
    test: torch.Tensor          # [M, *event] float32, fixed preprocessing, seeded
    test_labels: np.ndarray | None
    valid_labels: np.ndarray | None = None
    labelled: np.ndarray | None = None          # [L, *event]: the labelled examples (M2) ...
    labelled_y: np.ndarray | None = None        # ... and their labels; `train` is the rest

    @property
    def levels(self) -> int | None:
        return self.dataset.levels

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.dataset.event_shape

    @property
    def dequantized_levels(self) -> int | None:
        """L when the data were dequantized (bits/dim then add log(L)), else None."""
        return self.levels if self.preprocess == "dequantize" else None


def resolve_preprocess(requested: str, need: str, dataset: Dataset) -> str:
    if requested == "dequantize" and dataset.levels is None:
        raise VaekitError(f"{dataset.name}: continuous data cannot be dequantized; "
                          "use --preprocess none")
    if need == "levels" and (dataset.levels is None or requested not in ("auto", "none")):
        raise VaekitError(f"{dataset.name}: a discrete likelihood scores the integer levels "
                          "themselves" + (": these data are continuous" if dataset.levels is None
                                          else f"; drop --preprocess {requested}"))
    if requested != "auto":
        return requested
    chosen = FOR_NEED[need]
    return "none" if chosen == "dequantize" and dataset.levels is None else chosen


def _need(need) -> str:
    """A data need, or the need of a likelihood given by name or spec."""
    return need if isinstance(need, str) and need in FOR_NEED else LIKELIHOODS.spec(need).data


def prepare(config, need="binary", dataset: Dataset | None = None) -> Splits:
    """`need`: binary | continuous | levels | raw, or a likelihood (name or spec)."""
    dataset = dataset or load_dataset(config.dataset, config.image_size, config.background)
    dataset = reduce_bits(dataset, config.bits)
    preprocess = resolve_preprocess(config.preprocess, _need(need), dataset)
    rng = np.random.default_rng(config.seed)
    perm = rng.permutation(len(dataset.train))
    n_valid = int(round(config.valid_fraction * len(dataset.train)))
    if len(dataset.train) - n_valid < 1:
        raise VaekitError(f"{dataset.name}: no training examples left after the validation split")
    labels = dataset.train_labels
    valid_raw, train = dataset.train[perm[:n_valid]], dataset.train[perm[n_valid:]]
    valid_labels = None if labels is None else np.asarray(labels)[perm[:n_valid]]
    if n_valid == 0:  # no validation split asked for: validate on a fixed slice of train
        valid_raw = train[: min(len(train), 1000)]
        valid_labels = None if labels is None else np.asarray(labels)[perm][:len(valid_raw)]

    def seeded(a: np.ndarray, offset: int) -> torch.Tensor:
        return fixed(a, preprocess, dataset.levels, config.seed + offset)

    splits = Splits(dataset, preprocess, train, seeded(valid_raw, 1), seeded(dataset.test, 2),
                    dataset.test_labels, valid_labels)
    if config.labels:
        _label_some(splits, None if labels is None else np.asarray(labels)[perm[n_valid:]],
                    config.labels, config.seed, config.dataset)
    return splits


NO_LABELS = ("--labels needs labelled data; {} has no labels (an image folder's labels are its "
             "class sub-folders; a .npz needs a 'train_labels' array)")


def check_classes(labels: np.ndarray, classes: int) -> None:
    """Refuse labels outside 0..classes-1 (M2's class variable y has `classes` values)."""
    n = int(labels.max()) + 1
    if n > classes:
        raise VaekitError(f"the data have {n} classes (labels 0..{n - 1}); --classes "
                          f"{classes} is fewer (give --classes {n})")


def _label_some(splits: Splits, labels: np.ndarray | None, n: int, seed: int,
                name: str | None = None) -> None:
    """Keep the labels of n training examples, balanced over the classes (M2's labelled set)."""
    name = name or splits.dataset.name
    if labels is None:
        raise VaekitError(NO_LABELS.format(name))
    if labels.min() < 0:
        raise VaekitError(f"{name}: labels must be 0, 1, 2, ... (found {labels.min()})")
    classes = np.unique(labels)
    if n > len(labels):
        raise VaekitError(f"--labels {n}: more than the {len(labels)} training examples (after "
                          f"the validation split); at most {len(labels)}")
    if n < len(classes):
        raise VaekitError(f"--labels {n}: fewer than the {len(classes)} classes (each class "
                          f"needs a labelled example); give a multiple of {len(classes)}")
    if n % len(classes) or n // len(classes) > np.bincount(labels).min():
        raise VaekitError(f"--labels {n}: need a multiple of the {len(classes)} classes, at "
                          f"most {len(classes) * np.bincount(labels)[classes].min()} here")
    rng = np.random.default_rng(seed + 3)
    picked = np.concatenate([rng.choice(np.flatnonzero(labels == c), n // len(classes),
                                        replace=False) for c in classes])
    rest = np.setdiff1d(np.arange(len(labels)), picked)
    splits.labelled, splits.labelled_y = splits.train[picked], labels[picked]
    splits.train = splits.train[rest]
