"""Every axis with every other: each network x latent family x likelihood x inference scheme
trains a few steps and round-trips a checkpoint on grey 8x8 and 28x28 and colour 32x32 and
64x64 examples (tiny widths, so the whole grid stays fast); every objective, the evaluation, the
gap report, imputation and the baselines on every network; whole runs through vaekit.train
with their pictures, in colour where the data are."""

import itertools
import math

import numpy as np
import pytest
import torch
from PIL import Image

import vaekit
from vaekit import checkpoint
from vaekit.data import Dataset, prepare
from vaekit.gaps import gap_report
from vaekit.imputation import impute, make_mask
from vaekit.inference import LocalOptimizer
from vaekit.training import loss_and_terms, loss_fn, make_optimizer

NETWORKS = {"mlp": {"name": "mlp", "encoder_hidden": (16,), "decoder_hidden": (16,)},
            "conv": {"name": "conv", "channels": (4, 8)},
            "resnet": {"name": "resnet", "channels": (4, 8), "blocks": 1}}
LATENTS = {"gaussian": {"name": "gaussian", "dim": 3},
           "hierarchical": {"name": "hierarchical", "dims": (3, 2), "q_hidden": ((8,),),
                            "p_hidden": ((8,),)},
           "categorical": {"name": "categorical", "vars": 2, "classes": 3},
           "joint": {"name": "joint", "classes": 3, "dim": 2}}
INFERENCE = {"amortized": "amortized", "semi": {"name": "semi", "refine_steps": 2},
             "vem": {"name": "vem", "max_iter": 4}}
SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64)]


def model_config(network="mlp", latent="gaussian", likelihood="bernoulli", inference="amortized",
                 kind="vae"):
    if likelihood == "dlogistic-mix":               # few components: the grid stays fast
        likelihood = {"name": "dlogistic-mix", "mixtures": 2}
    return vaekit.ModelConfig(kind=kind, latent=LATENTS[latent], likelihood=likelihood,
                              network=NETWORKS[network], inference=INFERENCE[inference])


LIKELIHOODS = ("bernoulli", "gaussian", "dlogistic-mix", "dgaussian")
DISCRETE = ("dlogistic-mix", "dgaussian")


def batch(shape, likelihood, n=4, seed=0):
    x = torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))
    if likelihood in DISCRETE:                      # 8-bit levels k / 255
        return (x * 255).round() / 255
    return x.round() if likelihood == "bernoulli" else x


@pytest.mark.parametrize("shape, network, latent, likelihood, inference", [
    (shape, *rest) for shape in SHAPES
    for rest in itertools.product(NETWORKS, LATENTS, LIKELIHOODS, INFERENCE)
    # the discrete likelihoods on one grey and one colour size (they are per-pixel, and the
    # mixture's parameters make the large sizes slow)
    if rest[2] not in DISCRETE or shape in ((1, 8, 8), (3, 32, 32))],
    ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else None)
def test_every_combination_trains_and_round_trips(tmp_path, shape, network, latent, likelihood,
                                                  inference):
    config = vaekit.TrainConfig(model=model_config(network, latent, likelihood, inference))
    _trains_and_round_trips(tmp_path, config, shape, likelihood)


# the deep top-down hierarchy is a latent family with its own network (latents/topdown.py)
TOPDOWN = {"name": "topdown", "width": 4, "latent_channels": 1, "groups": (1,)}


@pytest.mark.parametrize("shape, likelihood", [
    (shape, likelihood) for shape in SHAPES[:3] for likelihood in LIKELIHOODS
    if likelihood not in DISCRETE or shape in ((1, 8, 8), (3, 32, 32))])
def test_the_topdown_hierarchy_with_every_likelihood(tmp_path, shape, likelihood):
    model = model_config(likelihood=likelihood)
    model.latent, model.network = TOPDOWN, "topdown"
    _trains_and_round_trips(tmp_path, vaekit.TrainConfig(model=model), shape, likelihood)


def _trains_and_round_trips(tmp_path, config, shape, likelihood):
    """Two steps change the weights; the checkpoint gives the same model back."""
    torch.manual_seed(0)
    model = vaekit.build_model(config.model, shape)
    optimizer = make_optimizer(model, 1e-2)
    x = batch(shape, likelihood)
    before = [p.detach().clone() for p in model.parameters()]
    init = torch.zeros(len(x), model.latent.param_size)
    for _ in range(2):
        loss, values, params = loss_fn(model, x, config, beta=1.0, init=init)
        assert torch.isfinite(loss) and torch.isfinite(values).all()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    model.eval()
    checkpoint.save(tmp_path / "ck", model, config, epoch=1, step=2)
    loaded, ckpt = vaekit.load_model(tmp_path / "ck")
    assert ckpt.event_shape == shape and type(loaded.decoder) is type(model.decoder)
    z = model.prior().sample((3,))
    with torch.no_grad():
        assert torch.equal(model.observation(z).mean, loaded.observation(z).mean)
        if model.encoder is not None:
            assert torch.equal(model.encode(x), loaded.encode(x))
        e = vaekit.elbo(x, loaded.posterior(x), loaded.prior(), loaded.observation,
                        reparameterized=False)
    assert e.elbo.shape == (len(x),) and torch.isfinite(e.elbo).all()


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("latent", ["gaussian", "hierarchical"])
def test_the_iwae_objective_on_every_network(network, latent):
    config = vaekit.TrainConfig(model=model_config(network, latent), objective="iwae", k=3)
    model = vaekit.build_model(config.model, (3, 32, 32))
    x = batch((3, 32, 32), "bernoulli")
    loss, values = loss_and_terms(model, x, model.encode(x), config, beta=1.0)
    loss.backward()
    assert values.shape == (4, 1) and torch.isfinite(loss)
    assert all(p.grad is not None for p in model.decoder.parameters())


@pytest.mark.parametrize("likelihood", ("gaussian",) + DISCRETE)
@pytest.mark.parametrize("network", NETWORKS)
def test_evaluation_gaps_and_imputation_on_every_network(network, likelihood):
    """log p(x) >= ELBO within noise, the gap table's order, and the chain on colour images."""
    torch.manual_seed(0)
    model = vaekit.build_model(model_config(network, likelihood=likelihood), (3, 8, 8)).eval()
    x = batch((3, 8, 8), likelihood, n=6)
    out = vaekit.evaluate(model, x, k=50)
    assert out["nll_n"] == 6 and math.isfinite(out["nll"]) and out["n"] == 6
    assert -out["nll"] >= out["elbo"] - 4 * out["elbo_se"]
    table = gap_report(model, x, k=50, elbo_samples=20,
                       settings=LocalOptimizer(max_iter=30, window=5))
    assert table["elbo_amortized"]["mean"] <= table["log_px"]["mean"] + 1.0
    mask = make_mask("top-half", len(x), (3, 8, 8))
    result = impute(model, x, mask, x.mean(0), x.std(0), steps=4, burn_in=1)
    assert result.steps.shape == (5, 6, 3, 8, 8)
    assert torch.equal(result.steps[-1][~mask], x[~mask])          # observed pixels clamped
    assert (result.missing == 3 * 4 * 8).all() and torch.isfinite(result.log_lik).all()


@pytest.mark.parametrize("network", NETWORKS)
@pytest.mark.parametrize("kind", ["ae", "gan"])
def test_baselines_on_every_network(tmp_path, network, kind):
    config = vaekit.TrainConfig(model=model_config(network, likelihood="gaussian", kind=kind),
                                epochs=1, batch_size=16, threads=1)
    result = vaekit.train(config, tmp_path / "r", splits=_splits((3, 16, 16)), progress=False)
    assert result.model.sample(5).shape == (5, 3, 16, 16)
    if kind == "gan":       # the discriminator is the network's encoder, with one output
        assert type(result.model.discriminator) is type(result.model.decoder)
    loaded, _ = vaekit.load_model(tmp_path / "r")
    torch.manual_seed(0)
    a = loaded.sample(3)
    torch.manual_seed(0)
    torch.testing.assert_close(a, result.model.sample(3))
    assert Image.open(tmp_path / "r" / "samples.png").mode == "RGB"


def _splits(shape, n=48, seed=0, preprocess="dequantize", bits=None, need="continuous"):
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
    dataset = Dataset("synthetic", levels[: n * 3 // 4], levels[n * 3 // 4:],
                      rng.integers(0, 2, n * 3 // 4), rng.integers(0, 2, n - n * 3 // 4), 256)
    data = vaekit.DataConfig(dataset="synthetic", preprocess=preprocess, bits=bits)
    return prepare(data, need, dataset)


@pytest.mark.parametrize("network", NETWORKS)
def test_whole_runs_on_colour_images_draw_colour_pictures(tmp_path, network):
    config = vaekit.TrainConfig(model=model_config(network, likelihood="gaussian"), epochs=2,
                                batch_size=16, eval_k=10, eval_n=5, threads=1)
    result = vaekit.train(config, tmp_path / "r", splits=_splits((3, 16, 16)), progress=False)
    assert math.isfinite(result.test["nll"]) and result.test["n"] == 12
    assert result.history[-1]["valid_elbo"] > result.history[0]["valid_elbo"] - 50
    for name in ("samples.png", "reconstructions.png"):
        picture = Image.open(tmp_path / "r" / name)
        assert picture.mode == "RGB"
    # reconstructions: rows of originals over rows of reconstructions, the originals exact
    grid = np.asarray(Image.open(tmp_path / "r" / "reconstructions.png"))
    scale = 4                 # 16-pixel images enlarged to 64; a 1-pixel border, also scaled
    left = grid.shape[1] - (8 * 17 + 1) * scale       # the rows' names in a margin at the left
    first = grid[scale:scale * 17:scale, left + scale:left + scale * 17:scale]   # top-left tile
    expected = result.splits.dataset.test[0].transpose(1, 2, 0)
    assert np.abs(first.astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.parametrize("likelihood", DISCRETE)
def test_whole_runs_with_discrete_likelihoods_score_the_levels(tmp_path, likelihood):
    """Integer levels in, log p(x) a probability of them out: bits/dim with no change of
    scale, labelled as such; --bits 5 keeps 32 levels; pictures in colour."""
    for bits, levels in ((None, 256), (5, 32)):
        splits = _splits((3, 16, 16), preprocess="auto", bits=bits, need=likelihood)
        config = vaekit.TrainConfig(model=model_config("conv", likelihood=likelihood),
                                    epochs=1, batch_size=16, eval_k=10, eval_n=5, threads=1)
        result = vaekit.train(config, tmp_path / f"r{bits}", splits=splits, progress=False)
        assert result.config.model.likelihood.levels == levels
        assert splits.preprocess == "none" and result.model.likelihood.levels == levels
        t = result.test
        assert t["nll_bits_per_dim"] == pytest.approx(t["nll"] / (3 * 16 * 16 * math.log(2)))
        assert "discrete likelihood" in t["bits_per_dim_of"]
        assert Image.open(tmp_path / f"r{bits}" / "samples.png").mode == "RGB"
        sample = result.model.observation(result.model.prior().sample((2,))).sample()
        assert torch.equal(sample * (levels - 1), (sample * (levels - 1)).round())


def test_grey_vector_data_and_networks_that_need_images():
    with pytest.raises(vaekit.VaekitError, match="--network conv needs images"):
        vaekit.build_model(model_config("conv"), (12,))
    with pytest.raises(vaekit.VaekitError, match="too small"):
        vaekit.build_model(vaekit.ModelConfig(network={"name": "conv", "channels": (4, 4, 4, 4)}),
                           (1, 8, 8))
    model = vaekit.build_model(model_config("mlp"), (12,))     # an MLP takes any shape
    assert model.sample(2).shape == (2, 12)


def test_the_default_likelihood_follows_the_data():
    grey = vaekit.build_model(vaekit.ModelConfig(), (1, 8, 8))
    colour = vaekit.build_model(vaekit.ModelConfig(), (3, 8, 8))
    assert grey.config.likelihood.name == "bernoulli"
    assert colour.config.likelihood.name == "gaussian"
    assert colour.likelihood.param_shape == (6, 8, 8)
