"""IDX files (data/idx.py): a round trip, each corruption named, and property-based tests
(hypothesis): whatever bytes they are given, they return well-formed data or raise
VaekitError with a message, nothing else."""

import gzip

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from vaekit import VaekitError
from vaekit.data import read_idx
from vaekit.data.idx import read_idx

from conftest import scratch, write_idx


def test_idx_round_trip_and_corruptions(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(read_idx(write_idx(tmp_path / "ok.gz", a)), a)
    good = (tmp_path / "ok.gz").read_bytes()
    (tmp_path / "trunc.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(VaekitError, match="not a complete gzip"):
        read_idx(tmp_path / "trunc.gz")
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(VaekitError, match="not a complete gzip"):
        read_idx(tmp_path / "plain.gz")
    import gzip
    (tmp_path / "magic.gz").write_bytes(gzip.compress(b"\x12\x34\x08\x01" + bytes(8)))
    with pytest.raises(VaekitError, match="bad magic"):
        read_idx(tmp_path / "magic.gz")
    (tmp_path / "short.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 9, 1, 2])))
    with pytest.raises(VaekitError, match="body holds 2 bytes"):
        read_idx(tmp_path / "short.gz")
    with pytest.raises(VaekitError, match="no such file"):
        read_idx(tmp_path / "missing.gz")


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
