"""`vaekit impute` (cli/impute.py): imputation.png marks what was missing and changes only that."""

import numpy as np
import torch
from PIL import Image

from vaekit.checkpoint import load_model
from vaekit.cli import main
from vaekit.imputation import make_mask

from cli.test_pictures import printed
from cli.test_train import run


def cells(png, nrow: int, ncol: int, h: int, w: int) -> np.ndarray:
    """The grid of save_grid read back: [nrow, ncol, h, w, 3] uint8, a pixel per image pixel
    (the grid has 1-pixel grey padding and is enlarged by an integer factor)."""
    pixels = np.asarray(Image.open(png).convert("RGB"))
    scale = pixels.shape[1] // (ncol * (w + 1) + 1)
    assert pixels.shape[:2] == ((nrow * (h + 1) + 1) * scale, (ncol * (w + 1) + 1) * scale)
    out = np.empty((nrow, ncol, h, w, 3), np.uint8)
    for r in range(nrow):
        for c in range(ncol):
            top, left = (1 + r * (h + 1)) * scale, (1 + c * (w + 1)) * scale
            out[r, c] = pixels[top:top + h * scale:scale, left:left + w * scale:scale]
    return out


def test_imputation_picture_marks_the_missing_pixels_and_keeps_the_observed(run, capsys):
    n, steps = 4, 3
    assert main(["impute", str(run), "--n", str(n), "--ncol", str(n), "--steps", str(steps),
                 "--burn-in", "1", "--mask", "random-half", "--seed", "0"]) == 0
    legend = printed(capsys)[-1]
    assert legend.startswith(f"{run / 'imputation.png'}: rows = masked input (missing red)")
    _, h, w = load_model(run)[1].event_shape
    mask = make_mask("random-half", n, (1, h, w), torch.Generator().manual_seed(0))[:, 0].numpy()
    grid = cells(run / "imputation.png", 1 + steps + 2, n, h, w)    # input, steps, mean, truth
    red = (grid[0] == (255, 0, 0)).all(-1)
    assert (red == mask).all() and 0 < mask.sum() < mask.size
    truth = grid[-1]
    assert (truth[..., 0] == truth[..., 1]).all()                   # grey: red only marks
    observed = ~mask
    assert (grid[0][observed] == truth[observed]).all()
    for row in grid[1:-1]:                                          # chain steps, predictive mean
        assert (row[observed] == truth[observed]).all()
    assert (grid[-2][mask] != truth[mask]).any()                    # the mean fills the rest
