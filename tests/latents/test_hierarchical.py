"""Hierarchical latents: agreement with the core model, per-layer KLs, bounds, round trips."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal

from vaekit import ModelConfig, build_model, elbo, elbo_report, evaluate, iwae, kl_layers
from vaekit import checkpoint, log_likelihood
from vaekit.config import TrainConfig

MLP = {"name": "mlp", "encoder_hidden": (16,), "decoder_hidden": (16,)}


def two_layer(path="bottom-up", sees="z1", seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(latent={"name": "hierarchical", "dims": (4, 3), "q_hidden": ((8,),),
                              "p_hidden": ((8,),), "path": path, "decoder_sees": sees},
                      network=MLP)
    return build_model(cfg, (12,))


def data(n=6, seed=1):
    return torch.rand(n, 12, generator=torch.Generator().manual_seed(seed)).round()


def test_one_layer_hierarchy_equals_the_core_model_on_the_same_weights():
    core = build_model(ModelConfig(latent={"name": "gaussian", "dim": 4}, network=MLP), (12,))
    hier = build_model(ModelConfig(latent={"name": "hierarchical", "dims": (4,), "q_hidden": (),
                                           "p_hidden": ()}, network=MLP), (12,))
    hier.load_state_dict(core.state_dict())          # same parameter names, nothing extra
    x = data()
    values = []
    for model in (core, hier):
        torch.manual_seed(0)
        e = elbo(x, model.posterior(x), model.prior(), model.observation)
        torch.manual_seed(0)
        b = iwae(x, model.posterior(x), model.prior(), model.observation, k=7)
        torch.manual_seed(0)
        ll = log_likelihood(model, x, k=50).per_example
        values.append((e.elbo, e.kl, b, ll))
    for a, b in zip(*values):
        assert torch.allclose(a, b, atol=1e-6)
    assert type(hier.posterior(x)).__name__ == "HierarchicalPosterior"


@pytest.mark.parametrize("path", ["bottom-up", "top-down"])
def test_per_layer_kls_sum_to_the_total_kl(path):
    model = two_layer(path)
    x = data(3)
    q, p = model.posterior(x), model.prior()
    torch.manual_seed(0)
    z = q.rsample((40_000,))                                   # [S, B, 7]
    layers = q.kl_layers(p, z)                                 # [S, B, 2]
    total_mc = q.log_prob(z) - p.log_prob(z)                   # plain Monte Carlo of the KL
    se = (total_mc.std(0) ** 2 + layers.sum(-1).std(0) ** 2).sqrt() / math.sqrt(len(z))
    assert layers.shape == (40_000, 3, 2)
    assert ((layers.sum(-1).mean(0) - total_mc.mean(0)).abs() < 4 * se).all()
    e = elbo(x, q, p, model.observation)
    assert e.kl_layers.shape == (3, 2) and torch.allclose(e.kl_layers.sum(-1), e.kl)
    assert torch.allclose(kl_layers(q, p, z).sum(-1), layers.sum(-1).mean(0))


def test_top_down_layers_are_closed_form_kls():
    model = two_layer("top-down")
    x = data(2)
    q, p = model.posterior(x), model.prior()
    z = q.rsample()
    parts = model.latent.split(z)
    q1 = q._layer(0, parts)
    p1 = p.layers(parts)[0]
    # the ladder's q(z_1 | z_2, x) is the precision-weighted product of N(h_1) and p(z_1 | z_2)
    mu_hat, pre = q.h[0].chunk(2, -1)
    s_hat = torch.nn.functional.softplus(pre) + 1e-5
    prec = s_hat ** -2 + p1.base_dist.scale ** -2
    assert torch.allclose(q1.base_dist.scale, prec.rsqrt(), atol=1e-6)
    expected_loc = (mu_hat * s_hat ** -2 + p1.base_dist.loc * p1.base_dist.scale ** -2) / prec
    assert torch.allclose(q1.base_dist.loc, expected_loc, atol=1e-5)
    manual = torch.distributions.kl_divergence(
        Independent(Normal(q1.base_dist.loc, q1.base_dist.scale), 1),
        Independent(Normal(p1.base_dist.loc, p1.base_dist.scale), 1))
    assert torch.allclose(q.kl_layers(p, z)[:, 0], manual, atol=1e-5)


@pytest.mark.parametrize("path", ["bottom-up", "top-down"])
def test_elbo_below_iwae_below_log_px_ordering(path):
    model = two_layer(path, sees="all")
    x = data(2)
    reps = 3000
    xs = x.repeat(reps, 1)
    q, p = model.posterior(xs), model.prior()
    torch.manual_seed(0)
    with torch.no_grad():
        e = elbo(xs, q, p, model.observation).elbo.reshape(reps, -1)
        b5 = iwae(xs, q, p, model.observation, 5).reshape(reps, -1)
        b50 = iwae(xs, q, p, model.observation, 50).reshape(reps, -1)
    se = lambda v: v.std(0) / math.sqrt(reps)
    assert ((b5.mean(0) - e.mean(0)) > 3 * (se(b5) ** 2 + se(e) ** 2).sqrt()).all()
    assert ((b50.mean(0) - b5.mean(0)) > 3 * (se(b50) ** 2 + se(b5) ** 2).sqrt()).all()
    ll = log_likelihood(model, x, k=20_000)
    assert (b50.mean(0) < ll.per_example + 3 * (se(b50) + ll.mc_se)).all()


def test_prior_and_posterior_densities_are_the_chain_rule():
    model = two_layer("bottom-up")
    lat = model.latent
    x = data(4)
    q, p = model.posterior(x), model.prior()
    z = q.rsample()
    z1, z2 = lat.split(z)
    manual_q = (lat.posterior(model.encoder(x))._layer(0, [None, None]).log_prob(z1)
                + Independent(Normal(*_gauss(lat.up[0](z1))), 1).log_prob(z2))
    assert torch.allclose(q.log_prob(z), manual_q, atol=1e-5)
    manual_p = (Independent(Normal(*_gauss(lat.down[0](z2))), 1).log_prob(z1)
                + Independent(Normal(torch.zeros(3), torch.ones(3)), 1).log_prob(z2))
    assert torch.allclose(p.log_prob(z), manual_p, atol=1e-5)
    assert p.sample((5,)).shape == (5, 7) and model.sample(5).shape == (5, 12)


def _gauss(params):
    mu, pre = params.chunk(2, -1)
    return mu, torch.nn.functional.softplus(pre) + 1e-5


def test_decoder_sees_z1_or_every_layer():
    assert two_layer(sees="z1").decoder[0].in_features == 4
    assert two_layer(sees="all").decoder[0].in_features == 7


def test_evaluation_reports_per_layer_terms_and_checkpoint_round_trip(tmp_path):
    model = two_layer("top-down").eval()
    x = data(50)
    torch.manual_seed(0)
    out = evaluate(model, x, k=20)
    assert len(out["kl_layers"]) == 2 and out["latent_dims"] == [4, 3]
    assert len(out["active_units_layers"]) == 2
    assert math.isclose(sum(out["kl_layers"]), out["kl"], rel_tol=1e-6)
    config = TrainConfig(model=model.config)
    checkpoint.save(tmp_path / "ck", model, config, epoch=1, step=1)
    loaded, ckpt = checkpoint.load_model(tmp_path / "ck")
    assert ckpt.config.model.latent.q_hidden == ((8,),)
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values()):
        assert torch.equal(a, b)
    torch.manual_seed(0)
    r1 = elbo_report(model, x)
    torch.manual_seed(0)
    r2 = elbo_report(loaded, x)
    assert r1 == r2


def test_burda_two_layer_defaults():
    cfg = ModelConfig.two_layer().validate()
    model = build_model(cfg, (1, 28, 28))
    assert model.latent.dims == (100, 50)
    assert [m.out_features for m in model.encoder if hasattr(m, "out_features")] == [200, 200, 200]
    assert [m.out_features for m in model.latent.up[0] if hasattr(m, "out_features")] == [100, 100, 100]
    assert [m.out_features for m in model.latent.down[0] if hasattr(m, "out_features")] == [100, 100, 200]
    assert [m.out_features for m in model.decoder if hasattr(m, "out_features")] == [200, 200, 784]


@pytest.mark.parametrize("path", ["bottom-up", "top-down"])
def test_posterior_mean_is_exact_for_the_first_layer_and_close_elsewhere(path):
    model = two_layer(path)
    x = data(3)
    q = model.posterior(x)
    torch.manual_seed(0)
    mean = q.mean
    torch.manual_seed(1)
    with torch.no_grad():
        mc = q.rsample((20_000,)).mean(0)
    first = slice(0, 4) if path == "bottom-up" else slice(4, 7)
    exact = q._layer(0 if path == "bottom-up" else 1, [None, None]).mean
    assert torch.allclose(mean[:, first], exact)
    assert torch.allclose(mean, mc, atol=0.1)


def test_the_two_layer_ladder_is_refused_for_new_runs_and_old_runs_still_load_and_resume(
        tmp_path, monkeypatch, capsys):
    """--posterior-path top-down is retired (the deep hierarchy supersedes it): a new run is one
    line, from Python and the command line; a run made with it before still loads, evaluates
    and resumes (made here as it was: its first checkpoint written directly)."""
    import vaekit
    from conftest import answer
    ladder = ModelConfig(latent={"name": "hierarchical", "dims": (4, 3), "q_hidden": ((8,),),
                                 "p_hidden": ((8,),), "path": "top-down"}, network=MLP)
    config = TrainConfig(model=ladder, data=vaekit.DataConfig("digits"), epochs=1, eval_k=5,
                         eval_n=5, threads=1)
    with pytest.raises(vaekit.VaekitError, match="kept for old runs only"):
        vaekit.train(config, tmp_path / "new", progress=False)
    code, err = answer(["train", "--model", "hierarchical", "--posterior-path", "top-down",
                        "--epochs", "1", "--runs", str(tmp_path), "--name", "cli"], None,
                       monkeypatch, capsys)
    assert code == 2 and "--latent topdown" in err and len(err.strip().splitlines()) == 1
    # an old run, trained as before the option was retired
    from vaekit.latents.hierarchical import Hierarchical
    with monkeypatch.context() as m:
        m.setattr(Hierarchical, "retired", lambda self: None)
        vaekit.train(config, tmp_path / "old", progress=False, final_eval=False)
    loaded, _ = vaekit.load_model(tmp_path / "old")
    assert loaded.latent.path == "top-down"
    assert evaluate(loaded, data_like_digits(), k=5)["elbo"] < 0
    result = vaekit.train(None, tmp_path / "old", resume=True, epochs=2, progress=False)
    assert len(result.history) == 1 and result.test["elbo"] < 0


def data_like_digits(n=5):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(2)).round()
