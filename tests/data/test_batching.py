"""Batches (data/batching.py): every row once, binarized grey levels drawn exactly from bytes,
dequantized values in their bins, and a generator state that carries on."""

import numpy as np
import torch
from hypothesis import given, strategies as st

from vaekit.data import Batches
from vaekit.data.draws import binarize_levels


@given(st.integers(1, 40), st.integers(1, 12), st.integers(1, 50), st.integers(2, 257),
       st.integers(0, 2**32 - 1), st.sampled_from([(), (1, 2), (3, 1)]))
def test_batches_cover_every_row_once_with_binary_draws(n, d, batch_size, levels, seed, image):
    """Levels up to 256 are bytes; more levels than a byte holds come as floats in [0, 1]."""
    rng = np.random.default_rng(seed)
    shape = (n, *image, d) if image else (n, d)
    k = rng.integers(0, levels, shape)
    bytes_ = levels <= 256
    x = k.astype(np.uint8) if bytes_ else (k / (levels - 1)).astype(np.float32)
    batches = Batches(x, batch_size, "binarize", levels if bytes_ else None, seed)
    seen = []
    for rows, xb in batches.with_rows():
        rows = rows.numpy()
        assert xb.shape == (len(rows), *shape[1:]) and set(np.unique(xb.numpy())) <= {0.0, 1.0}
        # all-black and all-white pixels are drawn exactly
        assert (xb.numpy()[k[rows] == 0] == 0).all()
        assert (xb.numpy()[k[rows] == levels - 1] == 1).all()
        seen.extend(rows.tolist())
    assert sorted(seen) == list(range(n)) and len(batches) == -(-n // batch_size)


def test_batches_binarize_grey_levels_exactly_from_bytes():
    x = np.full((4000, 3), 100, dtype=np.uint8)
    b = Batches(x, 4000, "binarize", 256, torch.Generator().manual_seed(0))
    batch = next(iter(b))
    assert batch.dtype == torch.float32 and set(batch.unique().tolist()) == {0.0, 1.0}
    # the same draws as binarize_levels on the bytes, from the same generator after the shuffle
    g = torch.Generator().manual_seed(0)
    torch.randperm(4000, generator=g)
    assert torch.equal(batch, binarize_levels(torch.from_numpy(x), 255, g))
    assert abs(batch.mean().item() - 100 / 255) < 4 * np.sqrt(0.4 * 0.6 / 12000)


def test_batches_continue_from_a_saved_generator_state():
    x = torch.randint(0, 17, (50, 1, 8, 8), dtype=torch.uint8)
    a = Batches(x, 16, "binarize", 17, torch.Generator().manual_seed(3))
    first = [xb for xb in a]
    state = a.generator.get_state()
    second = [xb for xb in a]
    b = Batches(x, 16, "binarize", 17, torch.Generator().manual_seed(99))
    b.generator.set_state(state)
    assert all(torch.equal(u, v) for u, v in zip(second, b))
    assert not torch.equal(first[0], second[0])       # each epoch draws afresh
    assert a.x.dtype == torch.uint8                     # levels stay bytes on the device


def test_dequantized_batches_stay_in_their_level_bins():
    k = torch.arange(17, dtype=torch.uint8).repeat(40).reshape(40, 17)
    for rows, xb in Batches(k, 8, "dequantize", 17, 0).with_rows():
        levels = k[rows].float()
        assert ((xb >= levels / 17) & (xb < (levels + 1) / 17)).all()
