"""Where data comes from: named datasets and user arrays, as float32 arrays in [0, 1].

- `digits`: scikit-learn's bundled 8x8 digits (1797 images, 17 grey levels). No download.
- `fashion-mnist`: Debian's dataset-fashion-mnist files if present, else a checksummed download.
- `mnist`: a checksummed download (LeCun et al. 1998; mirror configurable).
- a path to a `.npy` (one array) or `.npz` (`train`, optional `test`, `train_labels`, `test_labels`).

Every loader checks what it reads (gzip integrity, IDX magic and sizes, dtype, shape, NaN,
range) and raises VaekitError with a one-line reason.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import VaekitError


@dataclass
class Dataset:
    name: str
    train: np.ndarray                 # [N, D] float32 in [0, 1]
    test: np.ndarray                  # [M, D] float32 in [0, 1]
    train_labels: np.ndarray | None
    test_labels: np.ndarray | None
    image_shape: tuple[int, ...] | None
    levels: int | None                # grey levels of the source (256 for 8-bit); None if continuous

    @property
    def x_dim(self) -> int:
        return self.train.shape[1]


@dataclass(frozen=True)
class RemoteIDX:
    """Four IDX gzip files at base_url, each with its MD5."""
    name: str
    base_url: str
    md5: dict                         # file name -> md5 hex digest
    local_dirs: tuple[str, ...] = ()  # checked before downloading
    url_env: str = ""                 # environment variable that overrides base_url
    dir_env: str = ""                 # environment variable naming a folder with the files


MNIST = RemoteIDX(
    "mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/",
    {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
     "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
     "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
     "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    url_env="VAEKIT_MNIST_URL", dir_env="VAEKIT_MNIST_DIR")

FASHION_MNIST = RemoteIDX(
    "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
     "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
     "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
     "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    local_dirs=("/usr/share/datasets/fashion-mnist",),
    url_env="VAEKIT_FASHION_MNIST_URL", dir_env="VAEKIT_FASHION_MNIST_DIR")


def cache_dir() -> Path:
    import pooch
    return Path(os.environ.get("VAEKIT_DATA") or pooch.os_cache("vaekit"))


def read_idx(path: str | Path) -> np.ndarray:
    """Parse a gzip-compressed IDX file (LeCun's MNIST format) of unsigned bytes."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise VaekitError(f"{path}: no such file") from None
    except (EOFError, OSError, zlib.error) as e:
        raise VaekitError(f"{path}: not a complete gzip file ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise VaekitError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != 0x08:
        raise VaekitError(f"{path}: IDX type code {raw[2]:#04x} is not unsigned byte (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise VaekitError(f"{path}: IDX header is truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = math.prod(shape)                  # Python integers: no overflow on hostile headers
    if len(raw) - header != size:
        raise VaekitError(f"{path}: IDX body holds {len(raw) - header} bytes, header says "
                          f"{size} for shape {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def fetch(remote: RemoteIDX, base_url: str | None = None, directory: Path | None = None) -> Path:
    """A folder holding the four files of `remote`: a local copy if one exists, else a
    checksummed download into the cache. A file whose MD5 does not match is refused.
    A folder named by the `dir_env` variable is used as it is (its files are still checked
    when they are read)."""
    if remote.dir_env and os.environ.get(remote.dir_env):
        return Path(os.environ[remote.dir_env])
    for d in remote.local_dirs:
        if all((Path(d) / f).is_file() for f in remote.md5):
            return Path(d)
    import pooch
    import requests
    url = base_url or os.environ.get(remote.url_env) or remote.base_url
    directory = Path(directory or cache_dir() / remote.name)
    for fname, md5 in remote.md5.items():
        try:
            pooch.retrieve(url.rstrip("/") + "/" + fname, known_hash=f"md5:{md5}", fname=fname,
                           path=directory, progressbar=False)
        except ValueError as e:  # pooch's checksum mismatch; it deletes the bad file
            raise VaekitError(f"{remote.name}: {fname} failed its checksum, refused "
                              f"({str(e).splitlines()[0]})") from None
        except (requests.RequestException, OSError) as e:
            raise VaekitError(f"{remote.name}: could not download {fname} from {url}: "
                              f"{type(e).__name__}") from None
    return directory


def _load_idx_dataset(remote: RemoteIDX, base_url: str | None = None,
                      directory: Path | None = None) -> Dataset:
    d = fetch(remote, base_url, directory)
    train = read_idx(d / "train-images-idx3-ubyte.gz")
    test = read_idx(d / "t10k-images-idx3-ubyte.gz")
    train_y = read_idx(d / "train-labels-idx1-ubyte.gz")
    test_y = read_idx(d / "t10k-labels-idx1-ubyte.gz")
    if train.ndim != 3 or test.ndim != 3 or train.shape[1:] != test.shape[1:]:
        raise VaekitError(f"{remote.name}: image files are not [N, H, W] of one size")
    if len(train_y) != len(train) or len(test_y) != len(test):
        raise VaekitError(f"{remote.name}: label and image counts differ")
    shape = train.shape[1:]
    return Dataset(remote.name, _scale(train.reshape(len(train), -1), 255),
                   _scale(test.reshape(len(test), -1), 255), train_y.astype(np.int64),
                   test_y.astype(np.int64), shape, 256)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits
    bunch = load_digits()
    x = bunch.data.astype(np.float32) / 16.0            # 17 grey levels: 0..16
    y = bunch.target.astype(np.int64)
    perm = np.random.default_rng(20151231).permutation(len(x))  # a fixed train/test split
    test, train = perm[:360], perm[360:]
    return Dataset("digits", x[train], x[test], y[train], y[test], (8, 8), 17)


def _scale(a: np.ndarray, top: int) -> np.ndarray:
    return (a.astype(np.float32) / np.float32(top))


def _as_unit_float(a: np.ndarray, what: str) -> tuple[np.ndarray, tuple[int, ...] | None, int | None]:
    """Validate a user array and bring it to [N, D] float32 in [0, 1]."""
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise VaekitError(f"{what}: dtype {a.dtype} is not numeric (want uint8, bool or float)")
    if a.ndim not in (2, 3):
        raise VaekitError(f"{what}: shape {a.shape} is not [N, D] or [N, H, W]")
    if a.shape[0] == 0 or a[0].size == 0:
        raise VaekitError(f"{what}: array is empty (shape {a.shape})")
    image_shape = a.shape[1:] if a.ndim == 3 else None
    flat = a.reshape(a.shape[0], -1)
    if a.dtype.kind == "b":
        return flat.astype(np.float32), image_shape, 2
    if a.dtype == np.uint8:
        return _scale(flat, 255), image_shape, 256
    if a.dtype.kind in "iu":
        raise VaekitError(f"{what}: integer dtype {a.dtype}; give uint8 (0..255) or float in [0, 1]")
    if not np.isfinite(flat).all():
        raise VaekitError(f"{what}: contains NaN or infinite values")
    lo, hi = float(flat.min()), float(flat.max())
    if lo < 0.0 or hi > 1.0:
        raise VaekitError(f"{what}: values lie in [{lo:g}, {hi:g}], outside [0, 1]; rescale them")
    return flat.astype(np.float32), image_shape, None


def _load_array_file(path: Path) -> Dataset:
    if not path.is_file():
        raise VaekitError(f"{path}: no such file")
    try:
        arrays = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise VaekitError(f"{path}: cannot be read without pickle or is corrupt ({e})") from None
    except (OSError, EOFError) as e:
        raise VaekitError(f"{path}: not a readable .npy/.npz file ({e})") from None
    try:
        if isinstance(arrays, np.ndarray):
            parts = {"train": arrays}
        else:
            with arrays:
                parts = {k: arrays[k] for k in arrays.files}
    except (ValueError, OSError, EOFError) as e:
        raise VaekitError(f"{path}: corrupt array file ({e})") from None
    if "train" not in parts:
        raise VaekitError(f"{path}: an .npz needs an array named 'train' (has {sorted(parts)})")
    train, shape, levels = _as_unit_float(parts["train"], f"{path}[train]")
    train_y = parts.get("train_labels")
    if "test" in parts:
        test, test_shape, _ = _as_unit_float(parts["test"], f"{path}[test]")
        if test.shape[1] != train.shape[1]:
            raise VaekitError(f"{path}: test has {test.shape[1]} features, train {train.shape[1]}")
        test_y = parts.get("test_labels")
    else:  # hold out a fixed 10% as the test split
        if len(train) < 10:
            raise VaekitError(f"{path}: {len(train)} examples are too few to split off a test set")
        perm = np.random.default_rng(0).permutation(len(train))
        cut = max(1, len(train) // 10)
        test = train[perm[:cut]]
        test_y = None if train_y is None else train_y[perm[:cut]]
        train = train[perm[cut:]]
        train_y = None if train_y is None else train_y[perm[cut:]]
    return Dataset(path.stem, train, test, train_y, test_y, shape, levels)


DATASETS = {"digits": _load_digits,
            "fashion-mnist": lambda: _load_idx_dataset(FASHION_MNIST),
            "mnist": lambda: _load_idx_dataset(MNIST)}


def load_dataset(name: str) -> Dataset:
    """A named dataset, or a .npy/.npz file path."""
    if name in DATASETS:
        return DATASETS[name]()
    if name.endswith((".npy", ".npz")):
        return _load_array_file(Path(name))
    raise VaekitError(f"unknown dataset {name!r}; choose from {sorted(DATASETS)} "
                      "or give a .npy/.npz path")
