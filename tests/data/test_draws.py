"""The random draws of preprocessing (data/draws.py): binarization exact in distribution,
dynamic for training and fixed for evaluation; dequantization in its grey level's bin."""

import numpy as np
import pytest
import torch

from vaekit import DataConfig, prepare
from vaekit.data import Batches, binarize, dequantize
from vaekit.data.draws import binarize_levels


@pytest.mark.parametrize("m", [1, 15, 16, 255])
def test_binarize_levels_is_exact_in_distribution(m):
    """P(x = 1) = k / m for every grey level k in 0..m (m = levels - 1)."""
    k = np.arange(m + 1, dtype=np.uint8).repeat(4000).reshape(m + 1, -1)
    draws = binarize_levels(torch.from_numpy(k), m, torch.Generator().manual_seed(0)).numpy()
    p = k[:, 0] / m
    freq = draws.mean(1)
    se = np.sqrt(p * (1 - p) / draws.shape[1]) + 1e-12
    assert (np.abs(freq - p) <= 5 * se).all()


def test_binarization_is_dynamic_for_training_and_fixed_for_evaluation():
    x = torch.full((2000, 10), 0.3)
    g = torch.Generator().manual_seed(0)
    a, b = binarize(x, g), binarize(x, g)
    assert a.dtype == torch.float32 and set(a.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(a, b) and abs(a.mean().item() - 0.3) < 0.01
    s1 = prepare(DataConfig("digits"), "bernoulli")
    s2 = prepare(DataConfig("digits"), "bernoulli")
    assert torch.equal(s1.test, s2.test) and torch.equal(s1.valid, s2.valid)
    assert set(torch.unique(s1.test).tolist()) == {0.0, 1.0}
    assert len(s1.train) + len(s1.valid) == 1437
    assert s1.train.dtype == np.uint8 and s1.test.shape[1:] == (1, 8, 8)
    batches = Batches(s1.train[:64], 64, "binarize", 17, 0)
    first, second = next(iter(batches)), next(iter(batches))
    assert first.shape == (64, 1, 8, 8) and not torch.equal(first, second)


@pytest.mark.parametrize("levels", [2, 16, 17, 256])
def test_byte_binarization_is_exact_bernoulli_of_the_grey_level(levels):
    m = levels - 1
    k = np.tile(np.arange(levels, dtype=np.uint8), (20_000, 1))       # every level, many times
    b = binarize_levels(torch.from_numpy(k), m, torch.Generator().manual_seed(0)).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert (b[:, 0] == 0).all() and (b[:, -1] == 1).all()             # p = 0 and p = 1 exactly
    p = k[0] / m
    se = np.sqrt(p * (1 - p) / len(k))
    assert (np.abs(b.mean(0) - p) <= 4 * se + 1e-12).all()


def test_dequantization_stays_in_its_grey_level_bin():
    levels = 17
    k = np.tile(np.arange(levels, dtype=np.uint8), (100, 1))
    y = dequantize(torch.from_numpy(k), levels, torch.Generator().manual_seed(0)).numpy()
    assert ((y >= k / levels) & (y < (k + 1) / levels)).all()
    none = Batches(k, 100, "none", levels, 0)
    assert np.allclose(np.sort(next(iter(none)).numpy(), 0), k / (levels - 1))
    s = prepare(DataConfig("digits"), "gaussian")
    assert s.preprocess == "dequantize" and 0 <= s.test.min() and s.test.max() < 1
