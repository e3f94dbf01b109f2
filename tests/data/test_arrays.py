"""The user's .npy/.npz arrays (data/arrays.py): bad arrays refused, grey and colour layouts,
and a property-based test (hypothesis) over every dtype and shape."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from vaekit import load_dataset, VaekitError
from vaekit.data.arrays import load_array_file

from conftest import scratch


@pytest.mark.parametrize("array, message", [
    (np.full((5, 4), np.nan, dtype=np.float32), "NaN"),
    (np.ones((5, 2, 2, 2), dtype=np.float32), "not \\[N, D\\]"),
    (np.ones((5, 2, 2, 2, 2), dtype=np.float32), "not \\[N, D\\]"),
    (np.ones((5, 4), dtype=np.complex64), "not numeric"),
    (np.array([["a", "b"]]), "not numeric"),
    (np.zeros((0, 4), dtype=np.float32), "empty"),
    (np.full((5, 4), 3.0, dtype=np.float32), "outside \\[0, 1\\]"),
    (np.full((5, 4), 300, dtype=np.int32), "integer dtype"),
])
def test_bad_user_arrays(tmp_path, array, message):
    path = tmp_path / "x.npy"
    np.save(path, array)
    with pytest.raises(VaekitError, match=message):
        load_dataset(str(path))


def test_user_arrays_npy_and_npz(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    np.save(tmp_path / "u8.npy", grey)
    d = load_dataset(str(tmp_path / "u8.npy"))
    assert d.train.shape == (45, 1, 6, 6) and d.test.shape == (5, 1, 6, 6) and d.levels == 256
    assert d.event_shape == (1, 6, 6) and d.train.dtype == np.uint8
    np.savez(tmp_path / "p.npz", train=rng.random((20, 3)), test=rng.random((4, 3)))
    d = load_dataset(str(tmp_path / "p.npz"))
    assert d.train.shape == (20, 3) and d.test.shape == (4, 3) and d.levels is None
    np.savez(tmp_path / "bad.npz", data=rng.random((20, 3)))
    with pytest.raises(VaekitError, match="named 'train'"):
        load_dataset(str(tmp_path / "bad.npz"))
    (tmp_path / "junk.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(VaekitError):
        load_dataset(str(tmp_path / "junk.npy"))
    with pytest.raises(VaekitError, match="no such file"):
        load_dataset(str(tmp_path / "nope.npy"))


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_colour_arrays_keep_their_channels(tmp_path, layout):
    rng = np.random.default_rng(1)
    nchw = rng.integers(0, 256, (30, 3, 5, 7), dtype=np.uint8)
    train = nchw.transpose(0, 2, 3, 1) if layout == "NHWC" else nchw
    np.savez(tmp_path / "c.npz", train=train, test=train[:4],
             train_labels=np.arange(30), test_labels=np.arange(4))
    d = load_dataset(str(tmp_path / "c.npz"))
    assert d.event_shape == (3, 5, 7) and d.levels == 256
    assert np.array_equal(d.train, nchw) and np.array_equal(d.test, nchw[:4])
    floats = (nchw / 255.0).astype(np.float32).transpose(0, 2, 3, 1)
    np.save(tmp_path / "f.npy", floats)
    d = load_dataset(str(tmp_path / "f.npy"))
    assert d.event_shape == (3, 5, 7) and d.levels is None and d.train.dtype == np.float32
    np.savez(tmp_path / "mixed.npz", train=train, test=nchw[:4, :, :4])       # H 4, not 5
    with pytest.raises(VaekitError, match="test examples have shape"):
        load_dataset(str(tmp_path / "mixed.npz"))


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
