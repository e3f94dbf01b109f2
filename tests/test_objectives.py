"""The objectives against closed forms: Gaussian KL, and the linear-Gaussian model.;
the free-bits floor and its gradient."""

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from vaekit import elbo, iwae, kl_term, log_weights
from vaekit.linear_gaussian import random_linear_gaussian
from vaekit.objectives import free_bits_kl

pytestmark = pytest.mark.usefixtures("float64")


def _std_normal(z=2):
    return MultivariateNormal(torch.zeros(z), torch.eye(z))


def diag_normal(loc, scale):
    return Independent(Normal(loc, scale), 1)


def test_gaussian_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    q = diag_normal(torch.randn(4, 3, generator=g), torch.rand(4, 3, generator=g) + 0.3)
    p = diag_normal(torch.zeros(3), torch.ones(3))
    closed = kl_term(q, p)
    torch.manual_seed(1)
    z = q.sample((200_000,))
    terms = q.log_prob(z) - p.log_prob(z)
    se = terms.std(0) / math.sqrt(len(z))
    assert closed.shape == (4,)
    assert ((closed - terms.mean(0)).abs() < 4 * se).all()
    # and against the textbook formula 0.5 * sum(mu^2 + s^2 - 1 - log s^2)
    mu, s = q.base_dist.loc, q.base_dist.scale
    assert torch.allclose(closed, 0.5 * (mu ** 2 + s ** 2 - 1 - 2 * s.log()).sum(-1))


def test_kl_falls_back_to_monte_carlo_when_no_closed_form():
    # KL(full-covariance MVN || diagonal Normal) is not registered in torch.
    q = MultivariateNormal(torch.tensor([[0.3, -0.2]]), torch.tensor([[1.0, 0.5], [0.5, 1.0]]))
    p = diag_normal(torch.zeros(2), torch.ones(2))
    p_mvn = _std_normal()
    torch.manual_seed(0)
    z = q.sample((100_000,))
    mc = kl_term(q, p, z)
    exact = torch.distributions.kl_divergence(q, p_mvn)
    assert mc.shape == (1,)
    assert abs(mc.item() - exact.item()) < 0.01


def test_log_weights_equal_log_px_for_every_sample_under_exact_posterior():
    # log p(x|z) + log p(z) - log p(z|x) = log p(x) for every z: ELBO = log p(x), zero variance.
    lg = random_linear_gaussian(D=6, Z=2, s=0.5)
    x = lg.sample(8, torch.Generator().manual_seed(1))
    decode = lg.as_vae().observation
    lw = log_weights(x, lg.posterior(x), _std_normal(), decode, k=50)
    assert lw.shape == (50, 8)
    assert torch.allclose(lw, lg.log_marginal(x).expand(50, 8), atol=1e-9)


def test_elbo_with_exact_posterior_is_log_px_and_any_other_q_is_lower():
    lg = random_linear_gaussian(D=6, Z=2, s=0.5)
    x = lg.sample(8, torch.Generator().manual_seed(1))
    vae = lg.as_vae()
    exact = lg.log_marginal(x)
    torch.manual_seed(0)
    e = elbo(x, lg.posterior(x), _std_normal(), vae.observation, n=20_000)
    assert torch.allclose(e.elbo, exact, atol=0.02)
    assert torch.allclose(e.log_lik - e.kl, e.elbo)
    # any other q: ELBO = log p(x) - KL(q || p(z|x)), with that KL in closed form and > 0
    post = lg.posterior(x)
    mf = diag_normal(post.mean, lg.best_mean_field().expand_as(post.mean))
    shifted = diag_normal(post.mean + 0.5, post.stddev)
    prior = diag_normal(torch.zeros(2), torch.ones(2))
    for q in (vae.posterior(x), mf, shifted):
        kl_to_post = torch.distributions.kl_divergence(
            MultivariateNormal(q.mean, torch.diag_embed(q.variance)), post)
        z = q.sample((50_000,))
        log_lik = vae.observation(z).log_prob(x)                # [n, 8]
        elbo_q = log_lik.mean(0) - kl_term(q, prior)
        se = log_lik.std(0) / math.sqrt(len(z))
        assert (kl_to_post > 0).all()
        assert ((exact - elbo_q - kl_to_post).abs() < 4 * se).all()
    assert (exact - elbo(x, shifted, prior, vae.observation, n=50_000).elbo > 0.1).all()


def test_bounds_are_ordered_elbo_iwae_k_iwae_kprime_log_px():
    lg = random_linear_gaussian(D=6, Z=2, s=0.5)
    x = lg.sample(4, torch.Generator().manual_seed(2))
    vae = lg.as_vae(posterior_std=torch.tensor([1.0, 1.0]))   # a poor q: visible gaps
    q, p = vae.posterior(x), vae.prior()
    torch.manual_seed(0)
    reps = 4000
    xs = x.expand(reps, *x.shape).reshape(-1, x.shape[1])
    qs = vae.posterior(xs)
    means, ses = [], []
    for k in (1, 5, 50):
        vals = iwae(xs, qs, p, vae.observation, k).reshape(reps, -1)   # [reps, 4]
        means.append(vals.mean(0))
        ses.append(vals.std(0) / math.sqrt(reps))
    e = elbo(xs, qs, p, vae.observation).elbo.reshape(reps, -1).mean(0)
    exact = lg.log_marginal(x)
    assert torch.allclose(e, means[0], atol=5 * ses[0].max().item())   # IWAE_1 = ELBO
    for lo, hi, se_lo, se_hi in zip(means, means[1:], ses, ses[1:]):
        assert (hi - lo > 3 * torch.sqrt(se_lo ** 2 + se_hi ** 2)).all()
    assert (means[-1] < exact + 3 * ses[-1]).all()
    assert q.batch_shape == (4,)


@pytest.mark.parametrize("k", [1, 7])
def test_iwae_shapes_and_beta_annealing(k):
    lg = random_linear_gaussian()
    x = lg.sample(3, torch.Generator().manual_seed(0))
    vae = lg.as_vae()
    q, p = vae.posterior(x), vae.prior()
    assert iwae(x, q, p, vae.observation, k).shape == (3,)
    torch.manual_seed(0)
    lw0 = log_weights(x, q, p, vae.observation, k, beta=0.0)
    torch.manual_seed(0)
    z = q.rsample((k,))
    assert torch.allclose(lw0, vae.observation(z).log_prob(x))


def test_the_floor_stops_the_kl_gradient_below_it_and_only_there():
    groups = torch.tensor([[0.1, 2.0], [0.3, 1.0]], requires_grad=True)   # batch means 0.2, 1.5
    value = free_bits_kl(groups, floor=0.5)
    assert value.item() == pytest.approx(0.5 + 1.5)
    value.backward()
    assert torch.equal(groups.grad, torch.tensor([[0.0, 0.5], [0.0, 0.5]]))
