"""Pictures from the command line that cannot mislead: default names never overwrite a picture,
imputation.png marks what was missing and changes only that, and a traversal whose cells are
all the same image says why."""

import numpy as np
import pytest
import torch
from PIL import Image

from vaekit import checkpoint
from vaekit.checkpoint import load_model
from vaekit.cli import main
from vaekit.imputation import make_mask
from vaekit.runs import Run

from test_cli import TINY, run  # noqa: F401  (run: the module's tiny Gaussian VAE run)

CATEGORICAL = ["--latent", "categorical", "--categorical-vars", "4", "--categorical-classes",
               "5", "--encoder-hidden", "16", "--decoder-hidden", "16", "--eval-k", "20",
               "--eval-n", "10", "--no-progress"]


def printed(capsys) -> list[str]:
    return capsys.readouterr().out.strip().splitlines()


def test_sample_and_reconstruct_never_overwrite_by_default(run, tmp_path, capsys):
    training = {name: (run / name).read_bytes() for name in ("samples.png", "reconstructions.png")}
    for expected in ("sample-001.png", "sample-002.png"):
        assert main(["sample", str(run), "--n", "4"]) == 0
        assert printed(capsys) == [str(run / expected)]
    assert main(["reconstruct", str(run), "--n", "4"]) == 0
    assert printed(capsys) == [str(run / "reconstruct-001.png")]
    assert main(["sample", str(run / "best"), "--n", "4"]) == 0       # a checkpoint: its run
    assert printed(capsys) == [str(run / "sample-003.png")]
    newest = Run(run).checkpoints()[0]                              # a training checkpoint
    assert main(["sample", str(newest), "--n", "4"]) == 0            # its run too
    assert printed(capsys) == [str(run / "sample-004.png")]
    assert all(Image.open(run / f"sample-00{i}.png").size[0] > 0 for i in (1, 2, 3))
    assert training == {name: (run / name).read_bytes() for name in training}
    out = tmp_path / "mine.png"
    out.write_bytes(b"old")
    assert main(["sample", str(run), "--n", "4", "--out", str(out)]) == 0   # the user's choice
    assert printed(capsys) == [str(out)] and Image.open(out).size[0] > 0
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "never overwrites" in " ".join(capsys.readouterr().out.split())


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


@pytest.fixture(scope="module")
def categorical(tmp_path_factory):
    runs = tmp_path_factory.mktemp("categorical")
    assert main(["train", "--runs", str(runs), "--name", "c", "--epochs", "2", "--beta", "0.1",
                 *CATEGORICAL]) == 0
    return runs / "c"


def test_traverse_of_a_model_that_uses_its_variables_prints_no_note(categorical, capsys):
    assert main(["traverse", str(categorical), "--n", "3"]) == 0
    assert printed(capsys) == [str(categorical / "traversal.png")]


def collapse(runs, beta: float = 1000.0):
    """A categorical run trained with a huge KL weight: q(z|x) is the prior (test KL ~ 0). Its
    decoder still reads z through its random first layer, which training would take long to
    unlearn, so those weights are zeroed: the state collapse ends in, at once."""
    assert main(["train", "--runs", str(runs), "--name", "collapsed", "--epochs", "3",
                 "--beta", str(beta), "--lr", "0.01", *CATEGORICAL]) == 0
    run = runs / "collapsed"
    model, ckpt = load_model(run)
    first = next(m for m in model.decoder.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight.zero_()
    checkpoint.save(run / "best", model, ckpt.config, epoch=ckpt.meta["epoch"],
                    step=ckpt.meta["step"], metrics=ckpt.meta["metrics"])
    return run


def test_traverse_of_a_collapsed_model_says_why(tmp_path, capsys):
    run = collapse(tmp_path)
    capsys.readouterr()
    assert main(["traverse", str(run), "--n", "3"]) == 0
    path, note = printed(capsys)
    assert path == str(run / "traversal.png")
    assert note.startswith("note: the cells are (about) the same image: the decoder ignores")
    assert "posterior collapse; the KL of this run's test set is " in note
    assert "--warmup-epochs" in note and "vaekit train --help" in note
    kl = float(note.split("test set is ")[1].split()[0])
    assert 0 <= kl < 0.05
    (run / "metrics.json").unlink()                                  # no number to give
    assert main(["traverse", str(run), "--n", "3"]) == 0
    assert printed(capsys)[1].startswith("note: the cells are (about) the same image")
