"""`vaekit train --prior mog | vamp` end to end on the digits: a short run with its samples,
metrics and resume; the options in --help, TOML and checkpoints; the models a learned prior
does not fit, refused in one line."""

import json
import math

import pytest
from vaekit import checkpoint, config_file
from vaekit.cli import build_parser, main
from vaekit.config import ModelConfig, TrainConfig

from conftest import answer

TINY = ["--epochs", "1", "--latent-dim", "2", "--encoder-hidden", "16",
        "--decoder-hidden", "16", "--eval-k", "20", "--eval-n", "10", "--no-progress"]


@pytest.fixture(scope="module", params=[["--prior", "vamp", "--prior-components", "10"],
                                        ["--prior", "mog"]], ids=["vamp", "mog"])
def run(request, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--runs", str(runs), "--name", "p", *TINY, *request.param]) == 0
    return runs / "p"


def test_a_run_with_a_learned_prior_has_samples_finite_metrics_and_resumes(run, capsys):
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert test["prior"].split(":")[0] in ("vamp", "mog") and "KL by sampling" in test["prior"]
    assert test["kl_sampled"] is True                       # the KL to a mixture: one sample
    assert all(math.isfinite(test[k]) for k in ("elbo", "kl", "nll", "nll_mc_se"))
    assert (run / "samples.png").stat().st_size > 0
    assert main(["sample", str(run), "--n", "4", "--out", str(run / "s.png")]) == 0
    assert (run / "s.png").stat().st_size > 0
    assert main(["train", "--resume", str(run), "--epochs", "2", "--no-progress"]) == 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2]
    assert "KL by sampling" in capsys.readouterr().out          # the summary names the estimate


def test_figures_draw_no_manifold_of_standard_normal_quantiles(run, capsys):
    assert main(["figures", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Samples from the prior" in out and "manifold" not in out


def test_resume_refuses_another_prior(run, monkeypatch, capsys):
    code, err = answer(["train", "--resume", str(run), "--prior", "standard"], None,
                       monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "model.prior" in err, err


def test_the_config_toml_repeats_the_prior(run):
    raw = config_file.read(run / "config.toml")
    assert raw["model"]["prior"]["name"] in ("vamp", "mog")
    assert TrainConfig.from_dict(raw).model.prior == checkpoint.latest(run).config.model.prior


def test_help_lists_the_prior_options():
    parser = build_parser().commands["train"]
    text = " ".join(parser.format_help().split())
    assert "--prior PRIOR" in text and "VampPrior" in text and "--prior-components K" in text
    action = next(a for a in parser._actions if "--prior-components" in a.option_strings)
    assert action.help.startswith("mog: mixture components K (default: 10); vamp: K, the "
                                  "learned inputs")
    assert action.help.endswith("(default: 500)")


def test_model_config_round_trips_and_old_configs_take_the_standard_prior():
    config = ModelConfig(prior={"name": "vamp", "components": 7}).validate()
    again = TrainConfig.from_dict(TrainConfig(model=config).to_dict()).model
    assert again.prior == config.prior
    assert ModelConfig().validate().prior.name == "standard"
    old = {k: v for k, v in TrainConfig().to_dict()["model"].items() if k != "prior"}
    assert TrainConfig.from_dict({"model": old}).model.prior.name == "standard"


@pytest.mark.parametrize("args, words", [
    (["--prior", "mog", "--latent", "categorical"], "--latent gaussian"),
    (["--prior", "vamp", "--latent", "hierarchical"], "hierarchical latents keep"),
    (["--prior", "mog", "--latent", "joint"], "joint latents keep"),
    (["--prior", "vamp", "--inference", "vem"], "--inference vem has none"),
    (["--prior", "mog", "--model", "ae"], "for VAEs"),
    (["--prior", "mog", "--prior-components", "0"], "prior_components must be >= 1"),
    (["--prior-components", "5"], "it is for --prior mog or --prior vamp"),
    (["--prior", "vampp"], "did you mean vamp?"),
])
def test_a_model_a_learned_prior_does_not_fit_is_one_line(args, words, tmp_path, monkeypatch,
                                                          capsys):
    code, err = answer(["train", "--runs", str(tmp_path), *args], None, monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("prior", ["mog", "vamp"])
def test_a_learned_prior_takes_a_flow_posterior(prior, tmp_path, capsys):
    """A learned prior with an iaf q: both densities exact at the ELBO's draw, no inverse on the
    training path; the run trains, evaluates finitely and says its KL is one sample."""
    args = ["--prior", prior, "--prior-components", "3", "--flow", "iaf", "--flow-steps", "2",
            "--flow-width", "8"]
    assert main(["train", "--runs", str(tmp_path), "--name", "mf", *TINY, *args]) == 0
    test = json.loads((tmp_path / "mf" / "metrics.json").read_text())["test"]
    assert test["kl_sampled"] is True and math.isfinite(test["nll"])
    assert "the KL too" in capsys.readouterr().out
