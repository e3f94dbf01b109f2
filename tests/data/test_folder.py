"""A folder of PNG/JPEG files as a dataset (data/folder.py)."""

import warnings

import numpy as np
import pytest
from PIL import Image

from vaekit import VaekitError
from vaekit.config import DataConfig
from vaekit.data.folder import load_image_folder
from vaekit.likelihoods import default_for


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
    # alpha 100 composited onto white: (c 100 + 255 155) / 255
    assert d.test[1, :, 0, 0].tolist() == [(c * 100 + 255 * 155 + 127) // 255 for c in (9, 8, 7)]


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


def _icons(root, n=12):
    """RGBA icons: an opaque red square on fully transparent pixels holding leftover colours."""
    rng = np.random.default_rng(0)
    for i in range(n):
        a = np.zeros((8, 8, 4), np.uint8)
        a[..., :3] = rng.integers(1, 255, 3)            # not black under the transparent pixels
        a[2:6, 2:6] = (200, 0, 0, 255)
        _save(root / f"icon{i:02d}.png", a)
    return root


@pytest.mark.parametrize("background, expected", [(None, (255, 255, 255)),
                                                  ("white", (255, 255, 255)),
                                                  ("black", (0, 0, 0)),
                                                  ("10,20,30", (10, 20, 30))])
def test_folder_transparent_pixels_composited_onto_the_background(tmp_path, capsys, background,
                                                                  expected):
    root = _icons(tmp_path / "icons")
    _save(root / "opaque.png", np.full((8, 8, 3), (1, 2, 3), np.uint8))   # no alpha: as it is
    kw = {} if background is None else {"background": background}
    d = load_image_folder(root, **kw)
    x = np.concatenate([d.train, d.test]).transpose(0, 2, 3, 1)          # [N, H, W, 3]
    opaque = (x == (1, 2, 3)).all(axis=(1, 2, 3))
    assert opaque.sum() == 1
    icons = x[~opaque]
    assert (icons[:, 2:6, 2:6] == (200, 0, 0)).all()
    assert (icons[:, 0] == expected).all() and (icons[:, :, 0] == expected).all()
    err = capsys.readouterr().err
    name = background or "white"
    assert err.count("\n") == 1
    assert f"12 of 13 images have transparency: composited onto {name} (--background)" in err


def test_folder_grey_alpha_onto_the_backgrounds_grey(tmp_path):
    root = tmp_path / "la"
    for i in range(10):
        _save(root / f"{i}.png", np.stack([np.full((4, 4), 40, np.uint8),
                                           np.array([[0, 255, 0, 255]] * 4, np.uint8)], -1), "LA")
    d = load_image_folder(root, background="10,20,30")
    assert d.train.shape[1] == 1
    grey = (10 * 299 + 20 * 587 + 30 * 114 + 500) // 1000
    assert (d.train[:, 0, :, 0] == grey).all() and (d.train[:, 0, :, 1] == 40).all()


def test_folder_palette_with_transparency_composited_without_a_warning(tmp_path, capsys):
    root = tmp_path / "pal"
    root.mkdir()
    for i in range(10):
        img = Image.fromarray(np.array([[0, 1], [1, 2]] * 2, np.uint8), "P")
        img.putpalette([9, 9, 9, 200, 0, 0, 0, 0, 200] + [0] * 759)
        img.save(root / f"{i}.png", transparency=bytes([0, 255, 128]))   # tRNS kept as bytes
    with Image.open(root / "0.png") as img, pytest.warns(UserWarning, match="Palette images"):
        img.convert("RGB")                              # what dropping alpha did
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # Pillow's warning would fail the test
        d = load_image_folder(root, background="black")
    x = np.concatenate([d.train, d.test])
    assert (x[:, :, 0, 0] == 0).all() and (x[:, :, 0, 1] == (200, 0, 0)).all()
    assert (x[:, :, 1, 1] == (0, 0, (200 * 128 + 127) // 255)).all()    # half transparent
    assert "10 of 10 images have transparency: composited onto black" in capsys.readouterr().err


def test_folder_background_setting_is_checked():
    assert DataConfig(background="0,128,255").validate().background == "0,128,255"
    for bad in ("grey", "1,2", "1,2,256", "-1,0,0"):
        with pytest.raises(VaekitError, match="background"):
            DataConfig(background=bad).validate()


def test_folder_non_images_listed_in_one_message(tmp_path, capsys):
    root = tmp_path / "mixed"
    for i in range(10):
        _save(root / f"{i}.png", np.full((3, 3), i, np.uint8))
    for name in ("a.txt", "b.gif", "c.svg", "d.bmp", "e.webp"):
        (root / name).write_text("x")
    load_image_folder(root)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert ("skipped 5 files (not .png/.jpg/.jpeg, or hidden): a.txt, b.gif, c.svg and 2 more"
            in err)


def test_folder_several_corrupt_images_in_one_error(tmp_path):
    root = tmp_path / "bad"
    for i in range(12):
        _save(root / f"{i:02d}.png", np.zeros((4, 4), np.uint8))
    for i in (1, 4, 7, 9, 11):
        (root / f"{i:02d}.png").write_bytes(b"junk")
    with pytest.raises(VaekitError) as err:
        load_image_folder(root)
    msg = _one_line(err)
    assert "5 of 12 image files are not readable images" in msg
    assert "01.png (not PNG or JPEG data), 04.png" in msg and "07.png" in msg
    assert "and 2 more" in msg


def test_folder_crops_and_resizes_announced(tmp_path, capsys):
    root = tmp_path / "sizes"
    _save(root / "train" / "strip.png", np.zeros((480, 32, 3), np.uint8))   # 32x480 strip
    _save(root / "train" / "big.png", np.zeros((64, 64, 3), np.uint8))
    _save(root / "test" / "fits.png", np.zeros((32, 32, 3), np.uint8))
    d = load_image_folder(root, image_size=32)
    assert d.train.shape == (2, 3, 32, 32)
    assert "resized 2 images to 32 x 32 (1 centre-cropped from non-square)" in \
        capsys.readouterr().err


def _grey_photos(root, n=20):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16] / 15
    for i in range(n):
        a, b = rng.uniform(-1, 1, 2)
        im = 128 + 60 * (a * xx + b * yy) + rng.normal(0, 12, (16, 16))
        _save(root / f"p{i:02d}.png", np.clip(im, 0, 255).astype(np.uint8))
    return root


def test_grey_photographs_are_not_binarized_but_strokes_are(tmp_path):
    d = load_image_folder(_grey_photos(tmp_path / "photos"))
    assert d.event_shape == (1, 16, 16)
    assert default_for(d.event_shape, d.levels, d.train) == "dlogistic-mix"
    strokes = np.zeros((20, 1, 16, 16), np.uint8)
    strokes[:, :, 4:12, 7:9] = 255                                   # MNIST-like: ends only
    assert default_for(d.event_shape, 256, strokes) == "bernoulli"
    assert default_for((3, 16, 16), 256, strokes) == "gaussian"      # colour: unchanged
    assert default_for((256,), 256, strokes) == "bernoulli"          # vectors: unchanged


def test_grey_photographs_train_with_a_levels_likelihood(tmp_path, capsys):
    from vaekit.cli import main
    root = _grey_photos(tmp_path / "photos")
    assert main(["train", "--dataset", str(root), "--print-config"]) == 0
    assert 'background = "white"' in capsys.readouterr().out
    assert main(["train", "--dataset", str(root), "--epochs", "1", "--eval-k", "2",
                 "--runs", str(tmp_path / "runs"), "--name", "p", "--no-progress"]) == 0
    assert 'name = "dlogistic-mix"' in (tmp_path / "runs" / "p" / "config.toml").read_text()
