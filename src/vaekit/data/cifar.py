"""CIFAR-10 (Krizhevsky 2009) from its binary distribution: uint8 [N, 3, 32, 32], 256 levels.

cifar-10-binary.tar.gz is fetched with its MD5 (download.fetch; VAEKIT_CIFAR10_URL sets the
mirror, VAEKIT_CIFAR10_DIR a folder holding it) and read in one pass from the gzip stream (to
its end, so gzip's CRC vouches for every byte), never extracted and never unpickled: 3073-byte
records of a label byte and a [3, 32, 32] image.
"""

from __future__ import annotations

import gzip
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import VaekitError
from .dataset import Dataset
from .download import Remote, fetch

CIFAR10 = Remote("cifar-10", "https://www.cs.toronto.edu/~kriz/",
                 {"cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530"},
                 url_env="VAEKIT_CIFAR10_URL", dir_env="VAEKIT_CIFAR10_DIR")

TRAIN_MEMBERS = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_MEMBER = "test_batch.bin"
RECORD = 1 + 3 * 32 * 32              # one label byte, then 3072 pixel bytes
CLASSES = 10
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")                                     # batches.meta.txt's, by label


def load_cifar10(remote: Remote = CIFAR10, base_url: str | None = None,
                 directory: Path | None = None) -> Dataset:
    """CIFAR-10's train (data_batch_1..5) and test (test_batch) splits with their labels."""
    archive = fetch(remote, base_url, directory) / next(iter(remote.md5))
    if not archive.is_file():
        raise VaekitError(f"{archive}: no such file")
    members = _read_members(archive, TRAIN_MEMBERS + (TEST_MEMBER,))
    train = [_parse(archive, m, members[m]) for m in TRAIN_MEMBERS]
    test_x, test_y = _parse(archive, TEST_MEMBER, members[TEST_MEMBER])
    return Dataset(remote.name, np.concatenate([x for x, _ in train]), test_x,
                   np.concatenate([y for _, y in train]), test_y, 256, CLASS_NAMES)


def _read_members(archive: Path, wanted: tuple[str, ...]) -> dict[str, bytes]:
    """The bytes of the members */<name> in `wanted`, in one pass read to the stream's end."""
    found: dict[str, bytes] = {}
    try:
        with gzip.open(archive, "rb") as gz, tarfile.open(fileobj=gz, mode="r:") as tar:
            for member in tar:
                parts = PurePosixPath(member.name).parts
                if len(parts) != 2 or parts[1] not in wanted or not member.isfile():
                    continue
                if parts[1] in found:
                    raise VaekitError(f"{archive}: member {parts[1]} appears twice")
                if member.size % RECORD:
                    raise VaekitError(f"{archive}: member {member.name} holds {member.size} "
                                      f"bytes, not a whole number of {RECORD}-byte records")
                found[parts[1]] = tar.extractfile(member).read()
            while gz.read(1 << 20):     # the rest (tar padding): EOFError if truncated
                pass
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise VaekitError(f"{archive}: not a complete CIFAR-10 archive ({reason})") from None
    for name in wanted:
        if name not in found:
            raise VaekitError(f"{archive}: no member */{name} (not a CIFAR-10 binary archive)")
    return found


def _parse(archive: Path, name: str, raw: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Records -> images uint8 [n, 3, 32, 32] (R, G, B planes, row-major) and labels int64 [n]."""
    if len(raw) == 0 or len(raw) % RECORD:
        raise VaekitError(f"{archive}: member {name} holds {len(raw)} bytes, not a positive "
                          f"whole number of {RECORD}-byte records")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= CLASSES)
    if len(bad):
        raise VaekitError(f"{archive}: member {name} record {bad[0]} has label {labels[bad[0]]}, "
                          f"not a class 0..{CLASSES - 1}")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels
