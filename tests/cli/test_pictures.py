"""Pictures from the command line (cli/pictures.py) that cannot mislead: default names never
overwrite a picture, a traversal whose cells are all the same image says why, a picture's
legend says what it shows of p(x|z) (a mixture's: draws), and classes carry their names."""

import json

import numpy as np
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


def icon_folder(root, n_train: int = 12, n_test: int = 4):
    """Colour 8x8 icons in class sub-folders (train/, test/): a red top half for `cats`, a
    blue left half for `dogs`, on white, with a little noise."""
    rng = np.random.default_rng(0)
    for part, n in (("train", n_train), ("test", n_test)):
        for name, paint in (("cats", (slice(0, 4), slice(None), (220, 30, 30))),
                            ("dogs", (slice(None), slice(0, 4), (30, 30, 220)))):
            for i in range(n):
                a = np.full((8, 8, 3), 250, np.int64)
                a[paint[0], paint[1]] = paint[2]
                a = np.clip(a + rng.integers(-5, 6, a.shape), 0, 255).astype(np.uint8)
                (root / part / name).mkdir(parents=True, exist_ok=True)
                Image.fromarray(a).save(root / part / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def icons(tmp_path_factory):
    """M2 with the discretized logistic mixture on named classes of colour icons: 1 epoch."""
    root = tmp_path_factory.mktemp("icons")
    data = icon_folder(root / "icons")
    assert main(["train", "--runs", str(root), "--name", "m2", "--dataset", str(data),
                 "--likelihood", "dlogistic-mix", "--mixtures", "2", "--latent", "joint",
                 "--classes", "2", "--labels", "8", "--latent-dim", "2", "--encoder-hidden",
                 "16", "--decoder-hidden", "16", "--epochs", "1", "--eval-k", "4",
                 "--eval-n", "4", "--no-progress"]) == 0
    return root / "m2"


def legend(png) -> str:
    return Image.open(png).text.get("Description", "")


def test_pictures_of_a_mixture_are_draws_and_say_so(icons, capsys):
    assert legend(icons / "samples.png") == "samples: x ~ p(x|z), z ~ p(z)"
    assert legend(icons / "reconstructions.png").endswith("x ~ p(x|z), z = E_q[z|x]")
    assert Image.open(icons / "reconstructions.png").text["Rows"].split("\n")[:2] == \
        ["test", "reconstructed"]
    model, _ = load_model(icons)
    torch.manual_seed(0)
    a, b = model.sample(6), model.sample(6)
    assert not torch.equal(a, b) and torch.allclose(a * 255, (a * 255).round(), atol=1e-4)
    for show, says in (("mean", "samples: mean of p(x|z), z ~ p(z)"),
                       ("mode", "samples: mode of p(x|z)'s likeliest component, z ~ p(z)")):
        out = icons / f"{show}.png"
        assert main(["sample", str(icons), "--n", "4", "--show", show, "--out", str(out)]) == 0
        assert legend(out) == says
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["sample", str(icons), "--show", "median"])
    assert "invalid choice: 'median'" in capsys.readouterr().err


def test_the_class_grid_names_its_rows_and_measures_them(icons):
    picture = Image.open(icons / "classes.png")
    assert picture.text["Rows"].split("\n") == ["cats", "dogs"]
    says = picture.text["Description"]
    assert says.startswith("p(x|y,z), a row per class y, one z ~ p(z) per column: x ~ p(x|z)")
    assert "between classes (same z)" in says and "between columns (same y)" in says
    summary = json.loads((icons / "metrics.json").read_text())
    assert summary["class_names"] == ["cats", "dogs"]


def test_the_report_names_the_folders_classes(icons, capsys):
    assert main(["report", str(icons), "--no-progress"]) == 0
    page = (icons / "report.html").read_text()
    assert "<td>cats</td>" in page and "<td>dogs</td>" in page
    assert "Samples from the prior: x ~ p(x|z)" in page and "The same z: mean of p(x|z)" in page
    assert legend(icons / "figures" / "classes.png").startswith("p(x|y,z)")


def test_samples_at_a_temperature_come_from_the_prior_with_its_scales_times_t(run, tmp_path,
                                                                              capsys):
    """`vaekit sample --temperature T`: z ~ N(0, T^2 I) for a gaussian latent (each
    coordinate's spread measured), the legend says so; a prior without a tempered form, and
    T <= 0, are one line."""
    from vaekit import ModelConfig, VaekitError, build_model
    from vaekit.plots import samples
    model, _ = load_model(run)
    torch.manual_seed(0)
    z = model.prior(0.5).sample((20000,))
    torch.testing.assert_close(z.std(0), torch.full_like(z[0], 0.5), rtol=0.04, atol=0)
    torch.testing.assert_close(model.prior().sample((20000,)).std(0), torch.ones_like(z[0]),
                               rtol=0.04, atol=0)
    assert "at temperature 0.5 (its scales times 0.5)" in samples(model, 4, temperature=0.5).legend
    out = tmp_path / "cold.png"
    assert main(["sample", str(run), "--n", "4", "--temperature", "0.5", "--out", str(out)]) == 0
    assert printed(capsys) == [str(out)] and "at temperature 0.5" in legend(out)
    with pytest.raises(SystemExit):
        main(["sample", str(run), "--temperature", "0"])
    assert "must be > 0" in capsys.readouterr().err
    mog = build_model(ModelConfig(prior="mog"), (1, 8, 8))
    with pytest.raises(VaekitError, match="mog prior has no tempered form"):
        mog.prior(0.5)
