"""Pictures (plots.py): save_grid writes a PNG of the expected pixel size, grey or colour, with
each image's pixels where the grid puts them; default names never overwrite a picture."""

import numpy as np
import pytest
from PIL import Image

from vaekit.plots import first_free, grid_pixels, save_grid


def test_a_grey_grid_has_the_expected_size_and_pixels(tmp_path):
    images = np.zeros((5, 1, 8, 8), np.float32)
    images[4] = 1.0                                     # the last image white, the rest black
    path = save_grid(images, tmp_path / "sub" / "g.png", ncol=3)
    picture = Image.open(path)
    # 2 rows x 3 columns of 8x8 with a 1-pixel border: 19 x 28, enlarged 8 times (to >= 64)
    assert picture.mode == "L" and picture.size == (28 * 8, 19 * 8)
    pixels = np.asarray(picture)
    assert pixels[0, 0] == 128                          # the grey ground between images
    assert (pixels[8:72, 8:72] == 0).all()              # image 0: row 0, column 0
    top, left = (1 + 9) * 8, (1 + 9) * 8                # image 4: row 1, column 1
    assert (pixels[top:top + 64, left:left + 64] == 255).all()
    assert pixels[top - 1, left] == 128 and pixels[top + 64, left] == 128


def test_a_colour_grid_is_rgb_and_large_images_are_not_enlarged(tmp_path):
    images = np.zeros((4, 3, 32, 32), np.float32)
    images[:, 0] = 1.0                                   # red
    picture = Image.open(save_grid(images, tmp_path / "c.png", ncol=2, min_pixels=32))
    assert picture.mode == "RGB" and picture.size == (2 * 33 + 1, 2 * 33 + 1)
    assert tuple(np.asarray(picture)[1, 1]) == (255, 0, 0)


def test_a_grid_refuses_images_that_are_neither_grey_nor_colour():
    with pytest.raises(ValueError, match="C = 1 or 3"):
        grid_pixels(np.zeros((2, 2, 4, 4), np.float32))


def test_default_names_count_up_and_never_overwrite(tmp_path):
    (tmp_path / "sample-001.png").write_bytes(b"mine")
    assert first_free(tmp_path, "sample") == tmp_path / "sample-002.png"
    assert first_free(tmp_path, "sample") == tmp_path / "sample-003.png"
    assert (tmp_path / "sample-001.png").read_bytes() == b"mine"
