"""Property-based tests of the data loaders (hypothesis): whatever bytes or arrays they are
given, they either return well-formed data or raise VaekitError with a message, nothing else."""

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from vaekit import VaekitError
from vaekit.data import Batches
from vaekit.data.draws import binarize_levels
from vaekit.data.arrays import load_array_file
from vaekit.data.idx import read_idx

from conftest import write_idx

# "ci": the same 150 examples on every run, so that CI is reproducible. "search" (set
# VAEKIT_HYPOTHESIS=search): 3000 fresh ones per test; it found the 257-level byte overflow.
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("search", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("VAEKIT_HYPOTHESIS", "ci"))


def scratch(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="vaekit-hyp-")) / name


def read_or_refuse(path):
    try:
        return read_idx(path)
    except VaekitError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return None


@given(st.binary(max_size=400), st.booleans())
def test_read_idx_on_arbitrary_bytes(data, compress):
    path = scratch("x.gz")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_or_refuse(path)
    if out is not None:                            # only a self-consistent IDX file passes
        assert out.dtype == np.uint8 and data[:3] == b"\0\0\x08" and compress
        assert len(data) == 4 + 4 * data[3] + out.size


@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6)))
def test_read_idx_round_trips_every_uint8_array(array):
    path = write_idx(scratch("x.gz"), array)
    assert np.array_equal(read_idx(path), array)


@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6)),
       st.data())
def test_read_idx_refuses_every_damage(array, data):
    raw = bytearray(write_idx(scratch("x"), array, compress=False).read_bytes())
    damage = data.draw(st.sampled_from(["truncate", "magic", "dims", "gzip"]))
    if damage == "truncate":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    elif damage == "magic":
        raw[data.draw(st.integers(0, 2))] ^= data.draw(st.integers(1, 255))
    elif damage == "dims":
        raw[4:8] = (int.from_bytes(raw[4:8], "big") + data.draw(st.integers(1, 2**31))
                    ).to_bytes(8, "big")[-4:]
    packed = gzip.compress(bytes(raw))
    if damage == "gzip":
        packed = packed[:data.draw(st.integers(0, len(packed) - 1))]
    path = scratch("x.gz")
    path.write_bytes(packed)
    assert read_or_refuse(path) is None


ANY_DTYPE = st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.unsigned_integer_dtypes(),
                      hnp.boolean_dtypes(), hnp.complex_number_dtypes(),
                      hnp.unicode_string_dtypes(max_len=3), hnp.datetime64_dtypes())


@given(hnp.arrays(ANY_DTYPE, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12)))
def test_array_files_load_as_levels_or_unit_floats_or_are_refused(array):
    path = scratch("x.npy")
    np.save(path, array)
    try:
        ds = load_array_file(path)
    except VaekitError as e:
        assert str(path) in str(e) and "\n" not in str(e)
        return
    assert array.ndim in (2, 3, 4) and len(array) >= 10
    layouts = {2: [array.shape[1:]], 3: [(1, *array.shape[1:])],
               4: [array.shape[1:], (array.shape[-1], *array.shape[1:3])]}[array.ndim]
    assert ds.event_shape in layouts
    for part in (ds.train, ds.test):
        assert part.shape[1:] == ds.event_shape and part.ndim in (2, 4)
        if ds.levels is None:          # continuous: float32 in [0, 1]
            assert part.dtype == np.float32 and np.isfinite(part).all()
            assert part.min() >= 0 and part.max() <= 1
        else:                          # levels 0..L-1 as bytes
            assert part.dtype == np.uint8 and int(part.max()) < ds.levels
        unit = ds.unit(part)
        assert unit.dtype == np.float32 and unit.min() >= 0 and unit.max() <= 1
    assert len(ds.train) + len(ds.test) == len(array)


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


@pytest.mark.parametrize("m", [1, 16, 255])
def test_binarize_levels_is_exact_in_distribution(m):
    """P(x = 1) = k / m for every grey level k in 0..m (m = levels - 1)."""
    k = np.arange(m + 1, dtype=np.uint8).repeat(4000).reshape(m + 1, -1)
    draws = binarize_levels(torch.from_numpy(k), m, torch.Generator().manual_seed(0)).numpy()
    p = k[:, 0] / m
    freq = draws.mean(1)
    se = np.sqrt(p * (1 - p) / draws.shape[1]) + 1e-12
    assert (np.abs(freq - p) <= 5 * se).all()
