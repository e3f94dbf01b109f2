"""CIFAR-10's binary archive (data/cifar.py)."""

import hashlib
import http.server
import io
import tarfile
import threading
from functools import partial

import numpy as np
import pytest

from vaekit import VaekitError
from vaekit.data.cifar import CIFAR10, load_cifar10
from vaekit.data.download import Remote

from data.test_folder import _one_line


def _known_record():
    """A record with a few known pixels: red (row 5, col 9), green (31, 0), blue (0, 31)."""
    rec = bytearray(3073)
    rec[0] = 7
    rec[1 + 0 * 1024 + 5 * 32 + 9] = 200
    rec[1 + 1 * 1024 + 31 * 32 + 0] = 100
    rec[1 + 2 * 1024 + 0 * 32 + 31] = 50
    return bytes(rec)


def _cifar_archive(path, counts=(2, 1, 3, 1, 2), n_test=3, edit=None, seed=0):
    """A small archive in CIFAR-10's binary format; returns (train x, y, test x, y) written.
    `edit(name, bytes) -> bytes | None` may change a member's bytes or leave it out."""
    rng = np.random.default_rng(seed)
    xs, ys, buf = {}, {}, io.BytesIO()
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, n in zip(names, list(counts) + [n_test]):
            x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
            y = rng.integers(0, 10, n)
            data = b"".join(bytes([int(y[i])]) + x[i].tobytes() for i in range(n))
            if name == "data_batch_1.bin":
                data = _known_record() + data
                x = np.concatenate([np.frombuffer(_known_record()[1:], np.uint8)
                                    .reshape(1, 3, 32, 32), x])
                y = np.concatenate([[7], y])
            xs[name], ys[name] = x, y
            data = edit(name, data) if edit else data
            if data is not None:
                info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    train = names[:5]
    return (np.concatenate([xs[n] for n in train]), np.concatenate([ys[n] for n in train]),
            xs["test_batch.bin"], ys["test_batch.bin"])


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _remote(md5):
    return Remote("cifar-test", "http://127.0.0.1:9/", {"cifar-10-binary.tar.gz": md5},
                  dir_env="VAEKIT_TEST_CIFAR_DIR")


@pytest.fixture
def www(tmp_path):
    """Serve tmp_path/www on 127.0.0.1 (an ephemeral port); count the requests."""
    hits, folder = [], tmp_path / "www"
    folder.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            hits.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             partial(Handler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", folder, hits
    server.shutdown()
    server.server_close()


def test_cifar_download_round_trips_pixels_and_labels(www, tmp_path):
    url, folder, hits = www
    archive = folder / "good" / "cifar-10-binary.tar.gz"
    train_x, train_y, test_x, test_y = _cifar_archive(archive)
    d = load_cifar10(_remote(_md5(archive.read_bytes())), url + "good/", tmp_path / "cache")
    assert (tmp_path / "cache" / "cifar-10-binary.tar.gz").is_file() and len(hits) == 1
    assert d.name == "cifar-test" and d.levels == 256 and d.train.dtype == np.uint8
    assert d.train.shape == (10, 3, 32, 32) and d.test.shape == (3, 3, 32, 32)
    assert d.train_labels.dtype == np.int64 and d.train_labels.tolist() == train_y.tolist()
    assert np.array_equal(d.train, train_x) and np.array_equal(d.test, test_x)
    assert d.test_labels.tolist() == test_y.tolist()
    first = d.train[0]                                # the hand-written record
    assert d.train_labels[0] == 7 and first.sum() == 200 + 100 + 50
    assert first[0, 5, 9] == 200 and first[1, 31, 0] == 100 and first[2, 0, 31] == 50


def test_cifar_second_load_uses_the_cache(www, tmp_path):
    url, folder, hits = www
    archive = folder / "cifar-10-binary.tar.gz"
    _cifar_archive(archive)
    remote = _remote(_md5(archive.read_bytes()))
    first = load_cifar10(remote, url, tmp_path / "cache")
    n = len(hits)
    assert n == 1
    again = load_cifar10(remote, url, tmp_path / "cache")
    assert len(hits) == n and np.array_equal(first.test, again.test)


def test_cifar_checksum_mismatch_is_refused(www, tmp_path):
    url, folder, hits = www
    _cifar_archive(folder / "cifar-10-binary.tar.gz")   # not the real archive: md5 differs
    with pytest.raises(VaekitError, match="failed its checksum") as err:
        load_cifar10(CIFAR10, url, tmp_path / "cache")
    _one_line(err)
    assert len(hits) == 1
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@pytest.mark.parametrize("keep", [lambda n: n * 3 // 4, lambda n: n - 4])  # mid-data, trailer
def test_cifar_truncated_archive_is_refused(www, tmp_path, keep):
    url, folder, _ = www
    archive = folder / "cifar-10-binary.tar.gz"
    _cifar_archive(archive, counts=(20, 20, 20, 20, 20), n_test=20)
    cut = archive.read_bytes()[: keep(archive.stat().st_size)]
    archive.write_bytes(cut)
    with pytest.raises(VaekitError, match="not a complete CIFAR-10 archive") as err:
        load_cifar10(_remote(_md5(cut)), url, tmp_path / "cache")
    assert "cifar-10-binary.tar.gz" in _one_line(err)


@pytest.mark.parametrize("edit, message", [
    (lambda name, data: None if name == "data_batch_4.bin" else data,
     "no member \\*/data_batch_4"),
    (lambda name, data: data[:-5] if name == "test_batch.bin" else data, "3073-byte records"),
    (lambda name, data: bytes([12]) + data[1:] if name == "data_batch_2.bin" else data,
     "data_batch_2.bin record 0 has label 12"),
    (lambda name, data: b"" if name == "data_batch_5.bin" else data, "holds 0 bytes"),
])
def test_cifar_bad_members_are_refused(tmp_path, monkeypatch, edit, message):
    archive = tmp_path / "local" / "cifar-10-binary.tar.gz"
    _cifar_archive(archive, edit=edit)
    monkeypatch.setenv("VAEKIT_TEST_CIFAR_DIR", str(archive.parent))   # no download
    with pytest.raises(VaekitError, match=message) as err:
        load_cifar10(_remote("0" * 32))
    assert str(archive) in _one_line(err)


def test_cifar_not_gzip_is_refused(tmp_path, monkeypatch):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"this is not a gzip stream")
    monkeypatch.setenv("VAEKIT_TEST_CIFAR_DIR", str(tmp_path))
    with pytest.raises(VaekitError, match="not a complete CIFAR-10 archive") as err:
        load_cifar10(_remote("0" * 32))
    _one_line(err)
