"""Inference schemes against the linear-Gaussian model, where p(z|x) and log p(x) are exact:
the E-step, variational EM, the gap report and the imputation chain."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

import vaekit
from vaekit.data import Splits
from vaekit.data.sources import Dataset
from vaekit.gaps import elbo_per_example, gap_report
from vaekit.objectives import log_weights
from vaekit.imputation import impute, make_mask
from vaekit.inference import LocalOptimizer, optimize, refine
from vaekit.latents.gaussian import diagonal_gaussian
from vaekit.linear_gaussian import LinearGaussian, maximum_likelihood, random_linear_gaussian

from conftest import tiny


pytestmark = pytest.mark.usefixtures("float64")


def correlated(seed: int = 3) -> LinearGaussian:
    """pPCA whose W columns are far from orthogonal, so p(z|x) is strongly correlated and the
    best diagonal q is measurably worse than the exact posterior."""
    lg = random_linear_gaussian(D=6, Z=2, s=0.5, seed=seed)
    W = lg.W.clone()
    W[:, 1] = 0.8 * W[:, 0] + 0.4 * W[:, 1]
    return LinearGaussian(W, lg.b, lg.s)


def test_estep_reaches_the_best_mean_field_posterior_and_its_known_gap():
    lg = correlated()
    model = lg.as_vae()
    g = torch.Generator().manual_seed(0)
    x = lg.sample(16, generator=g)
    torch.manual_seed(0)
    fitted = optimize(model, x, torch.zeros(len(x), 4),
                      LocalOptimizer(samples=8, tol=1e-6, patience=5, max_iter=6000))
    assert fitted.converged, fitted.iterations
    q = diagonal_gaussian(fitted.params)
    exact = lg.posterior(x)
    # the mean is the exact posterior mean; the variances are the mean-field optimum
    # 1 / diag(precision), smaller than the true marginal variances. The posterior is
    # strongly correlated, so the ELBO is flat along one direction of the mean: the sharp test
    # is KL(q* || p(z|x)), which must come down to the mean-field minimum.
    torch.testing.assert_close(q.mean, exact.mean, atol=0.06, rtol=0)
    best_std = lg.best_mean_field().expand(len(x), -1)
    torch.testing.assert_close(q.stddev, best_std, atol=0.005, rtol=0.02)
    assert (best_std < exact.variance.sqrt() - 0.05).all()
    gap = lg.mean_field_gap()
    assert gap > 0.3
    as_full = MultivariateNormal(q.mean, torch.diag_embed(q.variance))
    excess = kl_divergence(as_full, exact) - gap
    assert excess.min() > -1e-9 and excess.max() < 0.002, excess
    # ELBO(q*) = log p(x) - KL(q* || p(z|x)), estimated by Monte Carlo within 4 standard errors
    torch.manual_seed(1)
    lw = log_weights(x, q, model.prior(), model.observation, 20000, reparameterized=False)
    se = lw.std(0) / math.sqrt(len(lw))
    expected = lg.log_marginal(x) - gap - excess
    assert ((lw.mean(0) - expected).abs() < 4 * se).all(), (lw.mean(0) - expected) / se


def test_refinement_improves_a_poor_encoder_and_gap_report_is_ordered():
    lg = correlated()
    model = lg.as_vae(posterior_std=torch.tensor([0.9, 0.9]))       # q_phi too wide
    with torch.no_grad():
        model.encoder.weight[:2] *= 0.8                             # and its mean shrunk
    g = torch.Generator().manual_seed(1)
    x = lg.sample(200, generator=g)
    torch.manual_seed(0)
    start = model.encoder(x).detach()
    refined = refine(model, x, start, steps=20, lr=0.02)
    assert (elbo_per_example(model, x, refined, 2000).mean()
            > elbo_per_example(model, x, start, 2000).mean() + 0.05)

    torch.manual_seed(2)
    table = gap_report(model, x, k=2000, elbo_samples=500, refine_steps=5)
    order = [table[key]["mean"] for key in
             ("elbo_amortized", "elbo_semi", "elbo_optimized", "log_px")]
    assert order == sorted(order), table
    exact = lg.log_marginal(x).mean().item()
    assert abs(table["log_px"]["mean"] - exact) < 0.01
    # the approximation gap of a diagonal q is the closed-form mean-field term
    assert abs(table["approximation_gap"]["mean"] - lg.mean_field_gap()) < 0.02
    assert table["amortization_gap"]["mean"] > 5 * table["amortization_gap"]["se"]


def _splits(x: np.ndarray, name="ppca") -> Splits:
    dataset = Dataset(name, x, x[:50], None, None, None)
    t = torch.from_numpy(x)
    return Splits(dataset, "none", x, t[:100], t[:50].clone(), None)


def _principal_cosines(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Cosines of the principal angles between the column spaces of A and B."""
    qa, _ = torch.linalg.qr(A)
    qb, _ = torch.linalg.qr(B)
    return torch.linalg.svdvals(qa.T @ qb)


def test_variational_em_recovers_the_ppca_maximum_likelihood_solution(tmp_path):
    # With a diagonal q, max over (theta, q) of the ELBO is the maximum likelihood: at the ML W
    # whose columns are orthogonal, p(z|x) is diagonal and the ELBO is tight. The rotation
    # towards orthogonal columns is slow (the ELBO is nearly flat along it), and the rest of
    # the way costs the small remaining gap in log-likelihood.
    torch.set_default_dtype(torch.float32)          # the trainer's precision
    D, Z = 5, 2
    truth = random_linear_gaussian(D=D, Z=Z, s=0.4, seed=5, dtype=torch.float32)
    x = truth.sample(300, generator=torch.Generator().manual_seed(0))
    ml = maximum_likelihood(x.double(), Z)
    config = vaekit.TrainConfig(
        model=vaekit.ModelConfig(latent={"name": "gaussian", "dim": Z},
                                 likelihood={"name": "gaussian", "variance": "shared"},
                                 network={"name": "mlp", "decoder_hidden": ()},
                                 inference={"name": "vem", "mstep_steps": 20}),
        data=vaekit.DataConfig(preprocess="none"), epochs=40, batch_size=300,
        lr=0.02, lr_schedule="cosine", min_lr=1e-4, threads=1)
    result = vaekit.train(config, tmp_path / "run", splits=_splits(x.numpy()), progress=False,
                          final_eval=False)
    model = result.model
    assert model.encoder is None
    dec, lik = model.decoder[0], model.likelihood
    s = (lik.min_std + torch.nn.functional.softplus(lik.raw_std)).item()
    learned = LinearGaussian(dec.weight.detach().double(), dec.bias.detach().double(), s)
    xd = x.double()
    per_point = learned.log_marginal(xd).mean().item()
    best = ml.log_marginal(xd).mean().item()
    start = LinearGaussian(torch.zeros(D, Z, dtype=torch.float64), torch.zeros(D, dtype=torch.float64),
                           1.0).log_marginal(xd).mean().item()
    assert per_point <= best + 1e-6                 # nothing beats the maximum
    assert best - per_point < 0.05 < (best - start) / 50, (best, per_point, start)
    assert _principal_cosines(learned.W, ml.W).min() > 0.9999
    assert abs(s - ml.s) < 0.01 * ml.s


def test_imputation_chain_with_the_exact_posterior_is_the_exact_conditional():
    # orthogonal columns of W make p(z|x) diagonal, so the VAE's q is exact and the chain is a
    # Gibbs sampler for p(z, x_missing | x_observed)
    D, Z, s = 6, 2, 0.5
    W, _ = torch.linalg.qr(torch.randn(D, Z, generator=torch.Generator().manual_seed(0)))
    lg = LinearGaussian(W * torch.tensor([2.0, 1.0]), torch.zeros(D), s)
    model = lg.as_vae()
    x = lg.sample(40, generator=torch.Generator().manual_seed(1))
    mask = make_mask("top-half", len(x), (D,))
    torch.manual_seed(0)
    result = impute(model, x, mask, torch.zeros(D), torch.ones(D), steps=3000, burn_in=50,
                    sample_missing=True)
    # exact log p(x_missing | x_observed) from the joint Gaussian
    C = lg.W @ lg.W.T + s ** 2 * torch.eye(D)
    m, o = mask[0], ~mask[0]
    gain = C[m][:, o] @ torch.linalg.inv(C[o][:, o])
    cond = torch.distributions.MultivariateNormal(
        x[:, o] @ gain.T, C[m][:, m] - gain @ C[o][:, m])
    exact = cond.log_prob(x[:, m])
    error = result.log_lik - exact          # Monte Carlo error of a 3000-step chain
    assert error.mean().abs() < 0.03 and error.abs().max() < 0.3, error
    assert result.log_lik.mean() > result.baseline_log_lik.mean() + 0.5


def test_masks_are_defined_on_the_image_for_every_channel_and_size():
    top = make_mask("top-half", 2, (1, 4, 4))
    assert top.shape == (2, 1, 4, 4)
    assert top[0, 0, :2].all() and not top[0, 0, 2:].any()
    left = make_mask("left-half", 1, (3, 5, 6))[0]               # colour, odd height
    assert left.shape == (3, 5, 6) and left[:, :, :3].all() and not left[:, :, 3:].any()
    colour_top = make_mask("top-half", 1, (3, 32, 32))[0]
    assert colour_top[:, :16].all() and not colour_top[:, 16:].any()
    rand = make_mask("random-half", 50, (3, 8, 8), torch.Generator().manual_seed(0))
    assert (rand == rand[:, :1]).all()                          # a pixel in all channels or none
    assert 0.4 < rand.float().mean() < 0.6
    vector = make_mask("bottom-half", 1, (6,))[0]
    assert vector.tolist() == [False] * 3 + [True] * 3
    with pytest.raises(ValueError, match="unknown mask"):
        make_mask("middle", 1, (1, 4, 4))
    with pytest.raises(ValueError, match="needs images"):
        make_mask("left-half", 1, (6,))


@pytest.mark.parametrize("scheme", ["semi", "vem"])
def test_schemes_train_checkpoint_and_resume_identically(tmp_path, scheme):
    torch.set_default_dtype(torch.float32)
    inference = {"name": scheme, **({"max_iter": 40} if scheme == "vem" else {})}
    base = dict(model=tiny(hidden=32, inference=inference),
                data=vaekit.DataConfig(valid_fraction=0.1), batch_size=256, eval_k=10,
                eval_n=20, threads=1)
    straight = vaekit.train(vaekit.TrainConfig(epochs=2, **base), tmp_path / "a", progress=False)
    vaekit.train(vaekit.TrainConfig(epochs=1, **base), tmp_path / "b", progress=False,
                 final_eval=False)
    resumed = vaekit.train(None, tmp_path / "b", resume=True, epochs=2, progress=False)
    assert (straight.model.encoder is None) == (scheme == "vem")
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert straight.history[-1]["valid_elbo"] == resumed.history[-1]["valid_elbo"]
    assert math.isfinite(straight.test["nll"]) and math.isfinite(straight.test["elbo"])
