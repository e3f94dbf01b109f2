"""Image data sources: a folder of PNG/JPEG files, CIFAR-10's binary archive, photo patches."""

import hashlib
import http.server
import io
import tarfile
import threading
from functools import partial

import numpy as np
import pytest
from PIL import Image

from vaekit import VaekitError
from vaekit.data.cifar import CIFAR10, load_cifar10
from vaekit.data.download import Remote
from vaekit.data.folder import load_image_folder
from vaekit.data.photos import (PATCH, TEST_COLUMNS, TEST_STRIDE, TRAIN_COLUMNS, TRAIN_STRIDE,
                                load_photo_patches, patch_origins)


def _save(path, array, mode=None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array), mode).save(path, **kw)
    return path


def _one_line(err):
    assert "\n" not in str(err.value)
    return str(err.value)


# --- a folder of images -----------------------------------------------------------------------

def test_folder_pngs_and_jpegs_with_labels_from_sub_folders(tmp_path, capsys):
    root = tmp_path / "pets"
    png_colours = [(10 * i, 200, 255 - 10 * i) for i in range(6)]
    jpg_colours = [(250, 20 * i, 40) for i in range(6)]
    for i, c in enumerate(png_colours):                       # cats: label 0, lossless
        _save(root / "cats" / f"c{i}.png", np.full((6, 8, 3), c, np.uint8))
    for i, c in enumerate(jpg_colours):                       # dogs: label 1, lossy
        _save(root / "dogs" / f"d{i}.JPG", np.full((6, 8, 3), c, np.uint8), quality=95)
    (root / "notes.txt").write_text("not an image")
    d = load_image_folder(root)
    assert "skipped 1 file" in capsys.readouterr().err
    assert d.name == "pets" and d.levels == 256 and d.train.dtype == np.uint8
    assert d.train.shape == (11, 3, 6, 8) and d.test.shape == (1, 3, 6, 8)
    x = np.concatenate([d.train, d.test])
    y = np.concatenate([d.train_labels, d.test_labels])
    assert y.dtype == np.int64 and sorted(y.tolist()) == [0] * 6 + [1] * 6
    got_png = sorted(tuple(int(v) for v in im[:, 0, 0]) for im in x[y == 0])
    assert got_png == sorted(png_colours)                      # exact pixels, channel order RGB
    assert all((im == im[:, :1, :1]).all() for im in x[y == 0])
    for im in x[y == 1]:                                       # each JPEG near one of its colours
        err = min(np.abs(im.astype(int) - np.array(c)[:, None, None]).max() for c in jpg_colours)
        assert err <= 4


def test_folder_train_and_test_sub_folders_are_the_splits(tmp_path):
    root = tmp_path / "given"
    for part, cls, n in [("train", "a", 2), ("train", "c", 3), ("test", "b", 1), ("test", "c", 2)]:
        for i in range(n):
            _save(root / part / cls / f"{i}.png", np.full((4, 4), 40 * i, np.uint8))
    d = load_image_folder(root)
    assert d.train.shape == (5, 1, 4, 4) and d.test.shape == (3, 1, 4, 4)
    # class names sorted over both splits: a=0, b=1, c=2 in each
    assert d.train_labels.tolist() == [0, 0, 2, 2, 2]
    assert d.test_labels.tolist() == [1, 2, 2]
    assert d.train[:, 0, 0, 0].tolist() == [0, 40, 0, 40, 80]


def test_folder_without_sub_folders_has_no_labels(tmp_path):
    for i in range(10):
        _save(tmp_path / "flat" / f"{i}.png", np.full((3, 3), i, np.uint8))
    d = load_image_folder(tmp_path / "flat")
    assert d.train_labels is None and d.test_labels is None
    assert sorted(np.concatenate([d.train, d.test])[:, 0, 0, 0].tolist()) == list(range(10))


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_folder_corrupt_png_is_named(tmp_path, damage):
    root = tmp_path / "bad"
    for i in range(10):
        _save(root / f"{i}.png", np.random.default_rng(i).integers(0, 256, (16, 16, 3), np.uint8))
    good = (root / "3.png").read_bytes()
    (root / "3.png").write_bytes(b"\x89PNG junk" if damage == "garbage" else good[:len(good) // 2])
    with pytest.raises(VaekitError) as err:
        load_image_folder(root)
    assert str(root / "3.png") in _one_line(err) and "not a readable image" in str(err.value)


def test_folder_mixed_sizes_need_image_size(tmp_path):
    _save(tmp_path / "m" / "train" / "a.png", np.zeros((5, 7, 3), np.uint8))
    _save(tmp_path / "m" / "train" / "b.png", np.zeros((6, 6, 3), np.uint8))
    _save(tmp_path / "m" / "test" / "c.png", np.zeros((5, 7, 3), np.uint8))
    with pytest.raises(VaekitError) as err:
        load_image_folder(tmp_path / "m")
    msg = _one_line(err)
    assert "--image-size" in msg and "a.png is 7x5" in msg and "b.png is 6x6" in msg


def test_folder_image_size_centre_crops_and_resizes(tmp_path):
    root = tmp_path / "crop"
    wide = np.zeros((10, 30, 3), np.uint8)
    wide[:] = (0, 0, 255)                       # blue border ...
    wide[:, 10:20] = (255, 0, 0)                # ... red centre square 10x10
    tall = np.zeros((20, 12, 3), np.uint8)
    tall[:] = (0, 0, 255)
    tall[4:16, :] = (0, 255, 0)                 # green centre square 12x12
    _save(root / "train" / "wide.png", wide)
    _save(root / "test" / "tall.png", tall)
    d = load_image_folder(root, image_size=4)
    assert d.train.shape == (1, 3, 4, 4) and d.test.shape == (1, 3, 4, 4)
    assert (d.train[0].transpose(1, 2, 0) == (255, 0, 0)).all()
    assert (d.test[0].transpose(1, 2, 0) == (0, 255, 0)).all()
    d = load_image_folder(root, image_size=20)  # upscaled: the border still stays out
    assert d.train.shape == (1, 3, 20, 20) and (d.train[0, 2] <= 2).all()


def test_folder_grey_and_colour_channels(tmp_path):
    root = tmp_path / "g"
    _save(root / "train" / "l.png", np.full((4, 4), 77, np.uint8))
    _save(root / "train" / "one_bit.png", np.ones((4, 4), bool))
    _save(root / "test" / "deep.png", np.full((4, 4), 0x1234, np.uint16))   # 16-bit grey
    d = load_image_folder(root)
    assert d.train.shape == (2, 1, 4, 4) and d.test.shape == (1, 1, 4, 4)
    assert d.train[:, 0, 0, 0].tolist() == [77, 255] and d.test[0, 0, 0, 0] == 0x12
    _save(root / "test" / "rgba.png", np.full((4, 4, 4), (9, 8, 7, 100), np.uint8))
    d = load_image_folder(root)
    assert d.train.shape == (2, 3, 4, 4) and d.test.shape == (2, 3, 4, 4)
    assert d.train[0, :, 0, 0].tolist() == [77, 77, 77]      # grey becomes R = G = B
    assert d.test[1, :, 0, 0].tolist() == [9, 8, 7]          # alpha dropped


def test_folder_missing_empty_and_too_small(tmp_path):
    with pytest.raises(VaekitError, match="no such folder") as err:
        load_image_folder(tmp_path / "nowhere")
    _one_line(err)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.txt").write_text("hi")
    (tmp_path / "empty" / ".DS_Store").write_bytes(b"\0")
    with pytest.raises(VaekitError, match="no .png/.jpg/.jpeg images") as err:
        load_image_folder(tmp_path / "empty")
    _one_line(err)
    _save(tmp_path / "few" / "a.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(VaekitError, match="too few") as err:
        load_image_folder(tmp_path / "few")
    _one_line(err)


# --- CIFAR-10's binary archive ----------------------------------------------------------------

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


# --- patches of the sample photographs --------------------------------------------------------

@pytest.fixture(scope="module")
def patches():
    return load_photo_patches()


def _photos():
    from sklearn.datasets import load_sample_images
    b = load_sample_images()
    return [b.images[[f.endswith(n) for f in b.filenames].index(True)]
            for n in ("china.jpg", "flower.jpg")]


def test_photo_patches_shapes_and_labels(patches):
    d = patches
    assert d.name == "photo-patches" and d.levels == 256 and d.train.dtype == np.uint8
    assert d.train.shape == (5700, 3, 32, 32) and d.test.shape == (450, 3, 32, 32)
    assert np.bincount(d.train_labels).tolist() == [2850, 2850]
    assert np.bincount(d.test_labels).tolist() == [225, 225]
    assert d.train_labels.dtype == np.int64 and d.train.std() > 10


def test_photo_patches_are_disjoint_crops_of_the_photos(patches):
    # the documented geometry, recomputed: rows 0..395 for a patch's top, columns split at 480
    train_o = [(r, c) for r in range(0, 427 - 32 + 1, 8) for c in range(0, 480 - 32 + 1, 8)]
    test_o = [(r, c) for r in range(0, 427 - 32 + 1, 16) for c in range(480, 640 - 32 + 1, 16)]
    assert (PATCH, TRAIN_COLUMNS, TEST_COLUMNS, TRAIN_STRIDE, TEST_STRIDE) == (
        32, (0, 480), (480, 640), 8, 16)
    assert patch_origins(427, TRAIN_COLUMNS, 8).tolist() == [list(o) for o in train_o]
    assert patch_origins(427, TEST_COLUMNS, 16).tolist() == [list(o) for o in test_o]
    tr, te = np.array(train_o), np.array(test_o)
    overlap_rows = (tr[:, None, 0] < te[None, :, 0] + 32) & (te[None, :, 0] < tr[:, None, 0] + 32)
    overlap_cols = (tr[:, None, 1] < te[None, :, 1] + 32) & (te[None, :, 1] < tr[:, None, 1] + 32)
    assert overlap_rows.any() and not (overlap_rows & overlap_cols).any()
    for label, photo in enumerate(_photos()):
        for x, y, origins in ((patches.train, patches.train_labels, train_o),
                              (patches.test, patches.test_labels, test_o)):
            mine = x[y == label]
            assert len(mine) == len(origins)
            for k in (0, len(origins) // 2, len(origins) - 1):
                r, c = origins[k]
                assert np.array_equal(mine[k], photo[r:r + 32, c:c + 32].transpose(2, 0, 1))
