"""Your own data as a `.npy` (one array) or `.npz` (`train`, optional `test`, `train_labels`,
`test_labels`), read without pickle: [N, D], [N, H, W], [N, H, W, C] or [N, C, H, W] (C = 1 or
3; axis 1 of 1 or 3 means [N, C, H, W]); uint8 (256 levels), bool (2 levels), or float in
[0, 1]. Without a `test` array a fixed 10% is held out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import VaekitError
from .dataset import Dataset


def _shaped(a: np.ndarray, what: str) -> np.ndarray:
    """[N, D] as it is, [N, H, W] -> [N, 1, H, W], channels-last -> [N, C, H, W]."""
    if a.ndim == 2:
        return a
    if a.ndim == 3:
        return a[:, None]
    if a.ndim == 4 and a.shape[1] in (1, 3):
        return a
    if a.ndim == 4 and a.shape[3] in (1, 3):
        return a.transpose(0, 3, 1, 2)
    raise VaekitError(f"{what}: shape {a.shape} is not [N, D], [N, H, W], [N, H, W, C] or "
                      "[N, C, H, W] with C = 1 or 3")


def _levels_or_unit(a: np.ndarray, what: str) -> tuple[np.ndarray, int | None]:
    """(uint8 levels, L) or (float32 in [0, 1], None), checked."""
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise VaekitError(f"{what}: dtype {a.dtype} is not numeric (want uint8, bool or float)")
    if a.shape[0] == 0 or a[0].size == 0:
        raise VaekitError(f"{what}: array is empty (shape {a.shape})")
    if a.dtype.kind == "b":
        return a.astype(np.uint8), 2
    if a.dtype == np.uint8:
        return a, 256
    if a.dtype.kind in "iu":
        raise VaekitError(f"{what}: integer dtype {a.dtype}; give uint8 (0..255) or float in [0, 1]")
    if not np.isfinite(a).all():
        raise VaekitError(f"{what}: contains NaN or infinite values")
    lo, hi = float(a.min()), float(a.max())
    if lo < 0.0 or hi > 1.0:
        raise VaekitError(f"{what}: values lie in [{lo:g}, {hi:g}], outside [0, 1]; rescale them")
    return a.astype(np.float32), None


def _read(path: Path) -> dict:
    if not path.is_file():
        raise VaekitError(f"{path}: no such file")
    try:
        arrays = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise VaekitError(f"{path}: cannot be read without pickle or is corrupt ({e})") from None
    except (OSError, EOFError) as e:
        raise VaekitError(f"{path}: not a readable .npy/.npz file ({e})") from None
    try:
        if isinstance(arrays, np.ndarray):
            return {"train": arrays}
        with arrays:
            return {k: arrays[k] for k in arrays.files}
    except (ValueError, OSError, EOFError) as e:
        raise VaekitError(f"{path}: corrupt array file ({e})") from None


def _part(parts: dict, key: str, path: Path) -> tuple[np.ndarray, int | None]:
    a = parts[key]
    what = f"{path}[{key}]"
    if a.ndim == 0:
        raise VaekitError(f"{what}: shape {a.shape} is not [N, D], [N, H, W], [N, H, W, C] or "
                          "[N, C, H, W]")
    levels_or_unit = _levels_or_unit(a, what)
    return _shaped(levels_or_unit[0], what), levels_or_unit[1]


def load_array_file(path: Path) -> Dataset:
    parts = _read(path)
    if "train" not in parts:
        raise VaekitError(f"{path}: an .npz needs an array named 'train' (has {sorted(parts)})")
    train, levels = _part(parts, "train", path)
    train_y = parts.get("train_labels")
    if train_y is not None and (train_y.ndim != 1 or len(train_y) != len(train)):
        raise VaekitError(f"{path}: train_labels has shape {list(train_y.shape)}; want one "
                          f"label per training example ([{len(train)}])")
    if "test" in parts:
        test, test_levels = _part(parts, "test", path)
        if test.shape[1:] != train.shape[1:]:
            raise VaekitError(f"{path}: test examples have shape {list(test.shape[1:])}, train "
                              f"{list(train.shape[1:])}")
        if test_levels != levels:
            raise VaekitError(f"{path}: test and train arrays have different dtypes")
        test_y = parts.get("test_labels")
    else:  # hold out a fixed 10% as the test split
        if len(train) < 10:
            raise VaekitError(f"{path}: {len(train)} examples are too few to split off a test set")
        perm = np.random.default_rng(0).permutation(len(train))
        cut = max(1, len(train) // 10)
        test, train = train[perm[:cut]], train[perm[cut:]]
        test_y = None if train_y is None else train_y[perm[:cut]]
        train_y = None if train_y is None else train_y[perm[cut:]]
    return Dataset(path.stem, np.ascontiguousarray(train), np.ascontiguousarray(test),
                   train_y, test_y, levels)
