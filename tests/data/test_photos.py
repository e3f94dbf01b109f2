"""Patches of the sample photographs (data/photos.py)."""

import numpy as np
import pytest

from vaekit.data.photos import (load_photo_patches, PATCH, patch_origins, TEST_COLUMNS,
                                TEST_STRIDE, TRAIN_COLUMNS, TRAIN_STRIDE)


@pytest.fixture(scope="module")
def patches():
    return load_photo_patches()


def _photos():
    from sklearn.datasets import load_sample_images
    b = load_sample_images()
    return [b.images[[f.endswith(n) for f in b.filenames].index(True)]
            for n in ("china.jpg", "flower.jpg")]


def test_photo_patches_shapes_and_labels(patches):
    d = patches
    assert d.name == "photo-patches" and d.levels == 256 and d.train.dtype == np.uint8
    assert d.train.shape == (5700, 3, 32, 32) and d.test.shape == (450, 3, 32, 32)
    assert np.bincount(d.train_labels).tolist() == [2850, 2850]
    assert np.bincount(d.test_labels).tolist() == [225, 225]
    assert d.train_labels.dtype == np.int64 and d.train.std() > 10


def test_photo_patches_are_disjoint_crops_of_the_photos(patches):
    # the documented geometry, recomputed: rows 0..395 for a patch's top, columns split at 480
    train_o = [(r, c) for r in range(0, 427 - 32 + 1, 8) for c in range(0, 480 - 32 + 1, 8)]
    test_o = [(r, c) for r in range(0, 427 - 32 + 1, 16) for c in range(480, 640 - 32 + 1, 16)]
    assert (PATCH, TRAIN_COLUMNS, TEST_COLUMNS, TRAIN_STRIDE, TEST_STRIDE) == (
        32, (0, 480), (480, 640), 8, 16)
    assert patch_origins(427, TRAIN_COLUMNS, 8).tolist() == [list(o) for o in train_o]
    assert patch_origins(427, TEST_COLUMNS, 16).tolist() == [list(o) for o in test_o]
    tr, te = np.array(train_o), np.array(test_o)
    overlap_rows = (tr[:, None, 0] < te[None, :, 0] + 32) & (te[None, :, 0] < tr[:, None, 0] + 32)
    overlap_cols = (tr[:, None, 1] < te[None, :, 1] + 32) & (te[None, :, 1] < tr[:, None, 1] + 32)
    assert overlap_rows.any() and not (overlap_rows & overlap_cols).any()
    for label, photo in enumerate(_photos()):
        for x, y, origins in ((patches.train, patches.train_labels, train_o),
                              (patches.test, patches.test_labels, test_o)):
            mine = x[y == label]
            assert len(mine) == len(origins)
            for k in (0, len(origins) // 2, len(origins) - 1):
                r, c = origins[k]
                assert np.array_equal(mine[k], photo[r:r + 32, c:c + 32].transpose(2, 0, 1))
