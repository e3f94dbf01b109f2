"""A folder of PNG/JPEG files as a dataset (data/folder.py)."""

import numpy as np
import pytest
from PIL import Image

from vaekit import VaekitError
from vaekit.data.folder import load_image_folder


def _save(path, array, mode=None, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array), mode).save(path, **kw)
    return path


def _one_line(err):
    assert "\n" not in str(err.value)
    return str(err.value)


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
