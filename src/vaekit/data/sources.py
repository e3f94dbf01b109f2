"""Where data come from: named data sets, your arrays, your image folders.

- `digits` (scikit-learn's 8x8, 17 grey levels) and `photo-patches` (photos.py): no download;
- `fashion-mnist`, `mnist`: IDX files (idx.py); `cifar10`: the binary distribution (cifar.py);
- a `.npy` / `.npz` path (arrays.py), or a folder of PNG/JPEG images (folder.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import VaekitError
from .arrays import load_array_file
from .cifar import load_cifar10
from .dataset import Dataset
from .folder import load_image_folder
from .idx import FASHION_MNIST, FASHION_MNIST_CLASSES, MNIST, load_idx_dataset
from .photos import load_photo_patches


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as sklearn_digits
    bunch = sklearn_digits()
    x = bunch.data.astype(np.uint8).reshape(-1, 1, 8, 8)     # 17 grey levels: 0..16
    y = bunch.target.astype(np.int64)
    perm = np.random.default_rng(20151231).permutation(len(x))  # a fixed train/test split
    test, train = perm[:360], perm[360:]
    return Dataset("digits", x[train], x[test], y[train], y[test], 17)


DATASETS = {"digits": load_digits, "photo-patches": load_photo_patches,
            "fashion-mnist": lambda: load_idx_dataset(FASHION_MNIST,
                                                      class_names=FASHION_MNIST_CLASSES),
            "mnist": lambda: load_idx_dataset(MNIST), "cifar10": load_cifar10}
DOWNLOADED = ("fashion-mnist", "mnist", "cifar10")    # fetched on first use (the rest: embedded)


def load_dataset(name: str, image_size: int | None = None, background: str = "white") -> Dataset:
    """A named dataset, a .npy/.npz file, or an image folder (resized to `image_size`,
    transparency composited onto `background`)."""
    path = Path(name)
    if image_size is not None and not path.is_dir() and (name in DATASETS or path.exists()):
        raise VaekitError(f"--image-size is for image folders; {name!r} is not a folder")
    if name in DATASETS:
        return DATASETS[name]()
    if name.endswith((".npy", ".npz")):
        return load_array_file(path)
    if path.is_dir():
        return load_image_folder(path, image_size, background)
    if not path.exists() and len(path.parts) > 1:
        raise VaekitError(f"{name}: no such file or folder")
    raise VaekitError(f"unknown dataset {name!r}; choose from {sorted(DATASETS)}, or give a "
                      ".npy/.npz file or a folder of images")
