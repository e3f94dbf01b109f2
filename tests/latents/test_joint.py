"""Joint latents (a class y and a Gaussian style z) and M2's bounds against brute force: sums
over y written out here, Gauss-Hermite quadrature over z, and a linear-Gaussian z-part whose
p(x | y) is closed form."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Independent, kl_divergence, MultivariateNormal, Normal

import vaekit
from vaekit.cli import main
from vaekit.evaluation import log_likelihood
from vaekit.latents import JointLatent
from vaekit.latents.gaussian import standard_normal
from vaekit.model import VAE
from vaekit.networks import Networks
from vaekit.objectives import elbo, labelled_elbo, log_weights

from conftest import answer
from test_config_file import TINY, train


K, D, P = 3, 2, 6


def tiny(discrete="exact"):
    torch.manual_seed(0)
    config = vaekit.ModelConfig(latent={"name": "joint", "classes": K, "dim": D,
                                        "discrete": discrete},
                                likelihood="bernoulli",
                                network={"name": "mlp", "encoder_hidden": (8,),
                                         "decoder_hidden": (8,)})
    model = vaekit.build_model(config, (P,)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)                    # a decoder that depends on y and z visibly
    x = torch.bernoulli(torch.full((4, P), 0.5, dtype=torch.float64))
    return model, x


def expected_rec(model, x, y: int, q, n: int = 40) -> torch.Tensor:
    """E_q(z|x,y)[log p(x|y,z)] per example by Gauss-Hermite quadrature over the 2-D z."""
    t, w = (torch.as_tensor(a) for a in np.polynomial.hermite.hermgauss(n))
    grid = torch.stack(torch.meshgrid(t, t, indexing="ij"), -1).reshape(-1, 2)    # [n^2, 2]
    weight = (w[:, None] * w[None, :]).reshape(-1) / math.pi
    z = q.loc[:, y] + math.sqrt(2) * q.scale[:, y] * grid[:, None]                # [n^2, B, 2]
    onehot = torch.zeros(*z.shape[:-1], K, dtype=z.dtype)
    onehot[..., y] = 1
    log_lik = model.observation(torch.cat([onehot, z], -1)).log_prob(x)           # [n^2, B]
    return (weight[:, None] * log_lik).sum(0)


def kl_z(q, y: int) -> torch.Tensor:
    mu, s = q.loc[:, y], q.scale[:, y]
    return (0.5 * (mu ** 2 + s ** 2 - 1) - s.log()).sum(-1)


def labelled_bound(model, x, y: int, q) -> torch.Tensor:
    """L(x, y) = E_q(z|x,y)[log p(x|y,z)] + log p(y) - KL(q(z|x,y) || p(z)), by quadrature."""
    return expected_rec(model, x, y, q) - math.log(K) - kl_z(q, y)


@pytest.mark.parametrize("discrete", ["exact", "relaxed"])
def test_the_elbo_is_the_unlabelled_bound_summed_over_y(discrete):
    """U(x) = sum_y q(y|x) L(x, y) + H(q(y|x)) (Kingma et al. 2014, eq. 7), brute force, against
    vaekit's ELBO with y enumerated (always in evaluation; in training too for "exact")."""
    model, x = tiny(discrete)
    q = model.posterior(x)
    probs = q.logits.exp()
    brute = sum(probs[:, y] * labelled_bound(model, x, y, q) for y in range(K)) \
        - (probs * probs.log()).sum(-1)
    torch.manual_seed(1)
    terms = elbo(x, q, model.prior(), model.observation, n=4000, reparameterized=False)
    draws = torch.stack([elbo(x, q, model.prior(), model.observation, n=4000,
                              reparameterized=False).elbo for _ in range(4)])
    se = draws.std(0) / 2 + 1e-9
    assert (terms.elbo - brute).abs().max() < 5 * se.max() + 1e-6, (terms.elbo, brute, se)
    assert (terms.elbo - brute).abs().max() < 0.05
    # the KL per part, written out: KL(q(y) || 1/K) and sum_y q(y) KL(q(z|y) || N(0, I))
    kl_y = (probs * (probs.log() + math.log(K))).sum(-1)
    kl_zs = sum(probs[:, y] * kl_z(q, y) for y in range(K))
    assert torch.allclose(terms.kl_layers, torch.stack([kl_y, kl_zs], -1), atol=1e-10)


def test_the_labelled_bound_is_its_definition():
    model, x = tiny()
    q, many = model.posterior(x), x.repeat(3000, 1)                     # 3000 draws per image
    torch.manual_seed(2)
    for y in range(K):
        labels = torch.full((len(many),), y)
        draws = labelled_elbo(many, labels, model.posterior(many), model.prior(),
                              model.observation).view(3000, len(x))
        se = draws.std(0) / math.sqrt(len(draws))
        assert ((draws.mean(0) - labelled_bound(model, x, y, q)).abs() < 5 * se + 1e-9).all()


def test_relaxed_training_draws_follow_q():
    """The relaxed sample's y part is near one-hot at a low temperature and its class
    frequencies follow q(y|x)."""
    model, x = tiny("relaxed")
    q = model.posterior(x[:1])
    q.tau = torch.tensor(0.05, dtype=torch.float64)
    v = q.rsample((20000,))[..., :K]                                             # [S, 1, K]
    assert (v.max(-1).values > 0.9).float().mean() > 0.95
    freq = torch.bincount(v.argmax(-1).flatten(), minlength=K).double() / len(v)
    assert torch.allclose(freq, q.logits.exp()[0], atol=0.02)


def linear_gaussian_joint(s=0.5, seed=0):
    """p(x | y, z) = N(B_y + b + W z, s^2 I): p(x | y) = N(B_y + b, W W^T + s^2 I) exactly.
    The encoder gives each class head the exact posterior mean and marginal deviations."""
    g = torch.Generator().manual_seed(seed)
    W, B, b = (torch.randn(*shape, generator=g, dtype=torch.float64)
               for shape in ((P, D), (P, K), (P,)))
    config = vaekit.ModelConfig(latent={"name": "joint", "classes": K, "dim": D},
                                likelihood={"name": "gaussian", "min_std": 1e-3},
                                network={"name": "custom", "encoder_class": "Linear",
                                         "decoder_class": "Linear"})
    vae = VAE(config, (P,), Networks(nn.Linear(P, K * (1 + 2 * D)), nn.Linear(K + D, 2 * P)))
    vae = vae.double()
    M = W.T @ W + s ** 2 * torch.eye(D, dtype=torch.float64)
    A = torch.linalg.solve(M, W.T)                                # mean = A (x - b - B_y)
    std = (s ** 2 * torch.linalg.inv(M)).diagonal().sqrt()
    with torch.no_grad():
        enc, dec = vae.encoder, vae.decoder
        enc.weight.zero_(), enc.bias.zero_(), dec.weight.zero_()
        for y in range(K):
            head = K + y * 2 * D
            enc.weight[head:head + D] = A
            enc.bias[head:head + D] = -A @ (b + B[:, y])
            enc.bias[head + D:head + 2 * D] = torch.log(torch.expm1(std - 1e-5))
        dec.weight[:P, :K], dec.weight[:P, K:], dec.bias[:P] = B, W, b
        dec.bias[P:] = math.log(math.expm1(s - 1e-3))
    covariance = W @ W.T + s ** 2 * torch.eye(P, dtype=torch.float64)
    exact = lambda x: torch.logsumexp(torch.stack(
        [MultivariateNormal(B[:, y] + b, covariance).log_prob(x) for y in range(K)]), 0) \
        - math.log(K)
    sample = lambda n: (B[:, torch.randint(K, (n,), generator=g)].T + b
                        + torch.randn(n, D, generator=g, dtype=torch.float64) @ W.T
                        + s * torch.randn(n, P, generator=g, dtype=torch.float64))
    return vae, exact, sample


def test_importance_sampled_log_px_enumerates_y_and_matches_the_closed_form():
    vae, exact, sample = linear_gaussian_joint()
    x = sample(6)
    torch.manual_seed(3)
    ll = log_likelihood(vae, x, k=3000)
    assert ll.k == 3000 and torch.isfinite(ll.per_example).all()
    error = (ll.per_example - exact(x)).abs()
    assert (error < 5 * ll.mc_se + 1e-3).all(), (ll.per_example, exact(x), ll.mc_se)
    bound = elbo(x, vae.posterior(x), vae.prior(), vae.observation, n=2000,
                 reparameterized=False).elbo
    assert (bound < exact(x) + 1e-6).all()                  # ELBO <= log p(x)


@pytest.fixture(scope="module")
def m2(tmp_path_factory):
    return train(tmp_path_factory.mktemp("runs"), "m2", *TINY, "--latent", "joint",
                 "--classes", "10", "--labels", "50", "--epochs", "3")


def test_m2_trains_reports_accuracy_and_draws_the_classes(m2, capsys):
    test = json.loads((m2 / "metrics.json").read_text())["test"]
    assert 0 <= test["accuracy"] <= 1 and test["accuracy_se"] > 0
    assert test["kl_layers"][0] > 0 and len(test["latent_dims"]) == 2
    log = [json.loads(l) for l in (m2 / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= r["valid_accuracy"] <= 1 for r in log)
    assert (m2 / "classes.png").stat().st_size > 0
    capsys.readouterr()
    assert main(["evaluate", str(m2), "--k", "20", "--n", "50", "--no-progress"]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_m2_learns_from_its_labels(tmp_path):
    """With 100 labels, 10 epochs of digits: the classifier does far better than chance."""
    result = vaekit.train(vaekit.TrainConfig(
        model=vaekit.ModelConfig(latent={"name": "joint", "dim": 8}),
        data=vaekit.DataConfig(labels=100), epochs=10, eval_k=20, eval_n=50, threads=1),
        tmp_path / "m2", progress=False)
    assert result.test["accuracy"] > 0.5, result.test["accuracy"]


@pytest.mark.parametrize("args, message", [
    (["--labels", "50"], "needs a VAE with joint latents"),
    (["--latent", "joint", "--labels", "55"], "need a multiple of the 10 classes"),
    (["--latent", "joint", "--alpha", "3"], "give --labels N"),
    (["--latent", "joint", "--labels", "50", "--inference", "vem"], "amortized inference"),
    (["--latent", "joint", "--discrete", "soft"], "invalid choice"),
])
def test_m2_options_are_checked(tmp_path, monkeypatch, capsys, args, message):
    code, err = answer(["train", "--runs", str(tmp_path), *args], None, monkeypatch, capsys)
    assert code == 2 and message in err, err


def test_an_m2_run_resumes_draw_for_draw(tmp_path):
    """The labelled batches come from the run's checkpointed generator: 2 + 2 epochs give the
    weights of 4."""
    from safetensors.numpy import load_file
    args = [*TINY, "--latent", "joint", "--classes", "10", "--labels", "50"]
    whole = train(tmp_path, "whole", *args, "--epochs", "4")
    part = train(tmp_path, "part", *args, "--epochs", "2")
    assert main(["train", "--resume", str(part), "--epochs", "4", "--no-progress"]) == 0
    a, b = (load_file(str(r / "checkpoints" / "epoch-000004" / "model.safetensors"))
            for r in (whole, part))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


@pytest.mark.usefixtures("float64")
def test_joint_overrides_enumerate_stratify_and_give_the_labelled_terms():
    latent = JointLatent(classes=3, dim=2, exact=False, tau=0.5)
    q, p = latent.posterior(torch.randn(4, latent.param_size)), latent.prior()
    assert q.enumeration(2, reparameterized=True) is None                  # relaxed training
    values, weights = q.enumeration(2, reparameterized=False)
    assert values.shape == (2, 3, 4, 5) and torch.allclose(weights.sum(0), torch.ones(4))
    z, log_q = q.importance_draws(5, reparameterized=False)                 # 2 per class
    assert z.shape == (6, 4, 5) and log_q.shape == (6, 4)
    y = torch.tensor([0, 2, 1, 1])
    terms = q.labelled_terms(p, y)
    assert torch.equal(terms.z[:, :3], torch.eye(3)[y])
    assert torch.allclose(terms.log_prior, torch.full((4,), -torch.log(torch.tensor(3.0))))
    assert torch.allclose(terms.kl, kl_divergence(q.given(y), standard_normal(
        torch.zeros(2), torch.ones(2))))
    assert torch.equal(q.classify(), q.logits.argmax(-1))


@pytest.mark.usefixtures("float64")
def test_the_enumerated_elbo_takes_no_draw_beyond_its_own():
    latent = JointLatent(classes=3, dim=2, exact=True, tau=0.5)
    q, p = latent.posterior(torch.randn(4, latent.param_size)), latent.prior()

    def decode(v):
        return Independent(Normal(v[..., :2], 1.0), 1)

    x = torch.zeros(4, 2)
    torch.manual_seed(0)
    elbo(x, q, p, decode, n=2)
    after = torch.rand(())
    torch.manual_seed(0)
    q.per_class((2,))                  # the only draw the enumerated ELBO needs
    assert torch.equal(torch.rand(()), after)
    assert log_weights(x, q, p, decode, 4, reparameterized=False).shape == (6, 4)
