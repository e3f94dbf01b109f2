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


def test_ties_of_the_first_byte_are_decided_without_bias():
    """One pixel in 256 ties its first random byte with its level and draws the next. Ties all
    decided "below" would raise P(x = 1) at k = 1 by 0.0039 (about 88 standard errors of these 2
    million draws); all "not below" would lower it at k = 254 as much; k = 128 sees either (about
    5 standard errors)."""
    k = torch.tensor([1, 128, 254], dtype=torch.uint8).repeat_interleave(2_000_000).view(3, -1)
    b = binarize_levels(k, 255, torch.Generator().manual_seed(1))
    p = k[:, 0].double() / 255
    se = (p * (1 - p) / k.shape[1]).sqrt()
    assert ((b.double().mean(1) - p).abs() <= 4 * se).all()


def test_rare_true_finds_every_true_entry_in_order():
    from vaekit.data.draws import rare_true
    g = torch.Generator().manual_seed(0)
    for n in [0, 1, 7, 8, 9, 1001, 100_000]:
        for p in [0.0, 1 / 256, 0.5, 1.0]:
            mask = torch.rand(n, generator=g) < p
            for m in (mask, mask[3:], mask[8:], mask.view(-1, 1).expand(-1, 3)):  # a copy
                assert torch.equal(rare_true(m), m.reshape(-1).nonzero().squeeze(1))


@pytest.mark.parametrize("block", [1, 3, 64])
def test_blocks_of_batches_cover_the_epoch_once_with_rows_and_values_paired(block, monkeypatch):
    """Batches draws `block_batches` batches in one pass (here 1, 3 and all 16 of the epoch:
    block boundaries on full batches, a last block part full): every row comes once an epoch,
    each batch its own size, each value drawn from its own row's grey level, the draws differ
    between batches of one block, and DDP's shards of a batch make up the whole batch."""
    from vaekit.data import batching
    monkeypatch.setattr(batching, "BLOCK_VALUES", block * 64 * 256)
    x = np.zeros((1000, 1, 16, 16), dtype=np.uint8)
    x[:, 0, 0, 0] = 255 * (np.arange(1000) % 2)             # odd rows' first pixel is always 1
    x[:, 0, 0, 1:] = np.arange(1, 16, dtype=np.uint8) * 17
    x[:, 0, 1:] = np.arange(240, dtype=np.uint8).reshape(15, 16)
    batches = Batches(x, 64, "binarize", 256, 0)
    assert batches.block_batches == block
    pairs = list(batches.with_rows())
    for rows, b in pairs:
        assert torch.equal(b[:, 0, 0, 0], (rows % 2).float())   # values from their own rows
    halves = [list(Batches(x, 64, "binarize", 256, 0, shard=slice(r, None, 2)).with_rows())
              for r in (0, 1)]
    for (rows, b), (r0, b0), (r1, b1) in zip(pairs, *halves):
        assert torch.equal(torch.cat([r0, r1]).sort().values, rows.sort().values)
        assert torch.equal(b0, b[0::2]) and torch.equal(b1, b[1::2])
    rows = torch.cat([r for r, _ in pairs])
    assert sorted(rows.tolist()) == list(range(1000)) and len(pairs) == 16
    assert [len(b) for _, b in pairs] == [64] * 15 + [40]
    p = torch.cat([b for _, b in pairs]).mean(0).view(-1)[1:]
    assert (p - torch.from_numpy(x[0].reshape(-1)[1:]) / 255).abs().max() < 0.07
    assert not torch.equal(pairs[0][1][:, :, 1:], pairs[1][1][:, :, 1:])
