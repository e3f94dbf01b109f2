"""The E-step (inference/local.py) against the linear-Gaussian model: it reaches the best
mean-field posterior and its known gap."""

import math

import pytest
import torch
from torch.distributions import kl_divergence, MultivariateNormal

from vaekit.inference import LocalOptimizer, optimize
from vaekit.latents.gaussian import diagonal_gaussian
from vaekit.linear_gaussian import LinearGaussian, random_linear_gaussian
from vaekit.objectives import log_weights

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
