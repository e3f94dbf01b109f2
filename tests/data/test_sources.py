"""Data sources by name (data/sources.py): the embedded digits, and an unknown name."""

import numpy as np
import pytest

from vaekit import load_dataset, VaekitError


def test_digits_is_embedded_as_17_grey_levels():
    d = load_dataset("digits")
    assert d.train.shape == (1437, 1, 8, 8) and d.test.shape == (360, 1, 8, 8)
    assert d.train.dtype == np.uint8 and d.train.min() == 0 and d.train.max() == 16
    assert d.event_shape == (1, 8, 8) and d.levels == 17 and d.is_image
    unit = d.unit(d.train)
    assert unit.dtype == np.float32 and unit.max() == 1.0 and unit.min() == 0.0
    assert set(np.unique(d.train_labels)) == set(range(10))


def test_unknown_dataset_name():
    with pytest.raises(VaekitError, match="unknown dataset 'cifar'"):
        load_dataset("cifar")
