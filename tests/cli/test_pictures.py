"""Pictures from the command line (cli/pictures.py) that cannot mislead: default names never
overwrite a picture, and a traversal whose cells are all the same image says why."""

import pytest
import torch
from PIL import Image

from vaekit import checkpoint
from vaekit.checkpoint import load_model
from vaekit.cli import main
from vaekit.runs import Run

from cli.test_train import run


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


def test_cli_trains_a_gumbel_softmax_vae_and_draws_a_traversal(tmp_path):
    args = ["train", "--runs", str(tmp_path), "--name", "g", "--latent", "categorical",
            "--categorical-vars", "4", "--categorical-classes", "5", "--straight-through",
            "--encoder-hidden", "16", "--decoder-hidden", "16", "--epochs", "2",
            "--eval-k", "20", "--eval-n", "10", "--no-progress"]
    assert main(args) == 0
    assert main(["traverse", str(tmp_path / "g"), "--n", "3"]) == 0
    assert (tmp_path / "g/traversal.png").stat().st_size > 0
    assert main(["traverse", str(tmp_path / "g"), "--index", "100000"]) == 2
