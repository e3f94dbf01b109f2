"""Colour patches of two photographs, embedded (no download): uint8 [N, 3, 32, 32], 256 levels.
scikit-learn's china.jpg (label 0) and flower.jpg (label 1), 427 x 640: train patches in
columns [0, 480) on a stride-8 grid, test patches in [480, 640) on a stride-16 grid, so the
splits share no pixels: 5700 train and 450 test patches (`patch_origins`).
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

PATCH = 32
TRAIN_COLUMNS = (0, 480)        # [start, stop): train patches lie wholly inside
TEST_COLUMNS = (480, 640)
TRAIN_STRIDE = 8
TEST_STRIDE = 16


def patch_origins(height: int, columns: tuple[int, int], stride: int) -> np.ndarray:
    """Top-left corners [n, 2] of the 32 x 32 patches on a `stride` grid, row-major."""
    rows = np.arange(0, height - PATCH + 1, stride)
    cols = np.arange(columns[0], columns[1] - PATCH + 1, stride)
    r, c = np.meshgrid(rows, cols, indexing="ij")
    return np.stack([r.ravel(), c.ravel()], axis=1)


def _patches(photo: np.ndarray, origins: np.ndarray) -> np.ndarray:
    """The patches of an [H, W, 3] photo at `origins`, as uint8 [n, 3, 32, 32]."""
    out = np.stack([photo[r:r + PATCH, c:c + PATCH] for r, c in origins])
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def sample_photos() -> list[np.ndarray]:
    """scikit-learn's sample photographs, china then flower, each uint8 [427, 640, 3]."""
    from sklearn.datasets import load_sample_images
    bunch = load_sample_images()
    order = [next(i for i, f in enumerate(bunch.filenames) if f.endswith(name))
             for name in ("china.jpg", "flower.jpg")]
    return [np.asarray(bunch.images[i], dtype=np.uint8) for i in order]


def load_photo_patches() -> Dataset:
    parts = {"train": ([], []), "test": ([], [])}
    for label, photo in enumerate(sample_photos()):
        for split, columns, stride in (("train", TRAIN_COLUMNS, TRAIN_STRIDE),
                                       ("test", TEST_COLUMNS, TEST_STRIDE)):
            x = _patches(photo, patch_origins(photo.shape[0], columns, stride))
            parts[split][0].append(x)
            parts[split][1].append(np.full(len(x), label, dtype=np.int64))
    (train_x, train_y), (test_x, test_y) = ([np.concatenate(a) for a in parts[s]]
                                            for s in ("train", "test"))
    return Dataset("photo-patches", train_x, test_x, train_y, test_y, 256, ("china", "flower"))
