"""MNIST and Fashion-MNIST: LeCun's IDX files (gzip), parsed from bytes, as uint8 [N, 1, 28, 28].

Each from the folder its variable names (VAEKIT_FASHION_MNIST_DIR, VAEKIT_MNIST_DIR), else
(Fashion-MNIST) Debian's /usr/share/datasets/fashion-mnist, else a checksummed download
(mirrors: VAEKIT_FASHION_MNIST_URL, VAEKIT_MNIST_URL).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..errors import VaekitError
from .dataset import Dataset
from .download import Remote, fetch

MNIST = Remote(
    "mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/",
    {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
     "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
     "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
     "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
    url_env="VAEKIT_MNIST_URL", dir_env="VAEKIT_MNIST_DIR")

FASHION_MNIST = Remote(
    "fashion-mnist", "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
     "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
     "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
     "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
    local_dirs=("/usr/share/datasets/fashion-mnist",),
    url_env="VAEKIT_FASHION_MNIST_URL", dir_env="VAEKIT_FASHION_MNIST_DIR")


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


# Fashion-MNIST's class names by label (Xiao, Rasul & Vollgraf 2017, its README)
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_idx_dataset(remote: Remote, base_url: str | None = None,
                     directory: Path | None = None,
                     class_names: tuple[str, ...] | None = None) -> Dataset:
    d = fetch(remote, base_url, directory)
    train = read_idx(d / "train-images-idx3-ubyte.gz")
    test = read_idx(d / "t10k-images-idx3-ubyte.gz")
    train_y = read_idx(d / "train-labels-idx1-ubyte.gz")
    test_y = read_idx(d / "t10k-labels-idx1-ubyte.gz")
    if train.ndim != 3 or test.ndim != 3 or train.shape[1:] != test.shape[1:]:
        raise VaekitError(f"{remote.name}: image files are not [N, H, W] of one size")
    if len(train_y) != len(train) or len(test_y) != len(test):
        raise VaekitError(f"{remote.name}: label and image counts differ")
    return Dataset(remote.name, train[:, None], test[:, None], train_y.astype(np.int64),
                   test_y.astype(np.int64), 256, class_names)
