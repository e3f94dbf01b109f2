"""The objectives against closed forms: Gaussian KL, and the linear-Gaussian model; MIWAE,
CIWAE and PIWAE against their definitions on the same draws, and ordered against log p(x);
DReG's gradient against IWAE's (same decoder gradient, same expected encoder gradient, lower
variance); the free-bits floor and its gradient."""

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from vaekit import ModelConfig, build_model, elbo, iwae, kl_term, log_weights
from vaekit.linear_gaussian import random_linear_gaussian
from vaekit.objectives import ciwae, free_bits_kl, miwae, piwae

from conftest import tiny

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


def _seeded(seed, f, *args, **kw):
    torch.manual_seed(seed)
    return f(*args, **kw)


def test_miwae_is_the_mean_of_m_independent_iwae_k_over_the_same_draws():
    lg = random_linear_gaussian()
    x = lg.sample(3, torch.Generator().manual_seed(0))
    vae = lg.as_vae(posterior_std=torch.tensor([1.0, 1.0]))
    q, p, decode = vae.posterior(x), vae.prior(), vae.observation
    value = _seeded(0, miwae, x, q, p, decode, 4, 5)
    torch.manual_seed(0)                                # the same draws, one set at a time
    sets = torch.stack([iwae(x, q, p, decode, 5) for _ in range(4)])       # [4, 3]
    assert value.shape == (3,) and sets.std(0).min() > 0.01     # the sets are not one set
    assert torch.allclose(value, sets.mean(0), atol=1e-12)
    assert torch.allclose(_seeded(1, miwae, x, q, p, decode, 1, 7),
                          _seeded(1, iwae, x, q, p, decode, 7), atol=1e-12)


def test_ciwae_mixes_the_elbo_and_iwae_of_the_same_draws():
    lg = random_linear_gaussian()
    x = lg.sample(3, torch.Generator().manual_seed(0))
    vae = lg.as_vae(posterior_std=torch.tensor([1.0, 1.0]))
    q, p, decode = vae.posterior(x), vae.prior(), vae.observation
    elbo_k = _seeded(0, log_weights, x, q, p, decode, 6).mean(0)     # the ELBO's 6-draw estimate
    iwae_k = _seeded(0, iwae, x, q, p, decode, 6)
    assert ((iwae_k - elbo_k) > 0.01).all()
    for mix in (1.0, 0.0, 0.3):
        assert torch.allclose(_seeded(0, ciwae, x, q, p, decode, 6, mix),
                              mix * elbo_k + (1 - mix) * iwae_k, atol=1e-12)


def test_elbo_below_miwae_equal_to_iwae_k_below_piwae_iwae_mk_below_log_px():
    """E MIWAE(M, K) = E IWAE_K (a mean of M of them) with 1/M of its variance; PIWAE's bound
    is IWAE_MK; CIWAE_c = c ELBO + (1 - c) IWAE_K in expectation."""
    lg = random_linear_gaussian(D=6, Z=2, s=0.5)
    x = lg.sample(4, torch.Generator().manual_seed(2))
    vae = lg.as_vae(posterior_std=torch.tensor([1.0, 1.0]))
    reps, m, k = 1500, 4, 5
    xs = x.expand(reps, *x.shape).reshape(-1, x.shape[1])
    q, p, decode = vae.posterior(xs), vae.prior(), vae.observation
    torch.manual_seed(0)
    runs = {"elbo": elbo(xs, q, p, decode).elbo, "iwae_k": iwae(xs, q, p, decode, k),
            "miwae": miwae(xs, q, p, decode, m, k), "ciwae": ciwae(xs, q, p, decode, k, 0.5)}
    runs["iwae_mk"], runs["piwae_miwae"] = piwae(xs, q, p, decode, m, k)
    runs = {name: v.detach().reshape(reps, -1) for name, v in runs.items()}        # [reps, 4]
    mean = {name: v.mean(0) for name, v in runs.items()}
    se = {name: v.std(0) / math.sqrt(reps) for name, v in runs.items()}

    def apart(lo, hi):     # hi above lo beyond 3 standard errors of the difference
        return (mean[hi] - mean[lo] > 3 * torch.sqrt(se[lo] ** 2 + se[hi] ** 2)).all()

    def close(a, b, within=3):
        return ((mean[a] - mean[b]).abs() < within * torch.sqrt(se[a] ** 2 + se[b] ** 2)).all()

    assert apart("elbo", "miwae") and apart("miwae", "iwae_mk") and apart("piwae_miwae", "iwae_mk")
    assert close("miwae", "iwae_k") and close("piwae_miwae", "iwae_k")
    assert (mean["iwae_mk"] < lg.log_marginal(x) + 3 * se["iwae_mk"]).all()
    ratio = runs["iwae_k"].var(0) / runs["miwae"].var(0)            # M for independent sets
    assert ((0.8 * m < ratio) & (ratio < 1.25 * m)).all(), ratio
    midpoint = (mean["elbo"] + mean["iwae_k"]) / 2
    assert ((mean["ciwae"] - midpoint).abs() < 3 * (se["elbo"] + se["iwae_k"])).all()


def _linear_model(n=1):
    """pPCA as a VAE with a poor q (unit deviations), and one example repeated n times."""
    lg = random_linear_gaussian(D=6, Z=2, s=0.5)
    x = lg.sample(1, torch.Generator().manual_seed(2))
    return lg.as_vae(posterior_std=torch.tensor([1.0, 1.0])), x.expand(n, -1)


def _bound(vae, x, params, m, k, beta, dreg):
    """miwae(m, k) at q = latent.posterior(params); DReG's gradient when `dreg`."""
    stopped = vae.latent.posterior(params.detach()) if dreg else None
    return miwae(x, vae.latent.posterior(params), vae.prior(), vae.observation, m, k, beta,
                 stopped)


@pytest.mark.parametrize("m, k, beta", [(1, 7, 1.0), (3, 5, 0.5)])
def test_dreg_has_the_standard_value_and_decoder_gradient_on_the_same_draws(m, k, beta):
    vae, x = _linear_model(4)
    out = []
    for dreg in (False, True):
        params = vae.encode(x).detach().requires_grad_()
        value = _seeded(0, _bound, vae, x, params, m, k, beta, dreg)
        grads = torch.autograd.grad(value.sum(), [params, *vae.decoder.parameters()])
        out.append((value, grads[0], grads[1:]))
    (v0, enc0, dec0), (v1, enc1, dec1) = out
    assert torch.allclose(v0, v1, atol=1e-12)
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(dec0, dec1))
    assert (enc0 - enc1).abs().max() > 1e-3                   # only the encoder's differs


def _encoder_gradients(vae, x, m, k, beta, dreg, seed=0):
    """d bound / d lambda [R, 2Z] for R copies of one example: R independent estimates."""
    params = vae.encode(x).detach().requires_grad_()
    value = _seeded(seed, _bound, vae, x, params, m, k, beta, dreg)
    return torch.autograd.grad(value.sum(), params)[0]


@pytest.mark.parametrize("m, k, beta", [(1, 64, 1.0), (1, 64, 0.5), (4, 16, 1.0)])
def test_dreg_encoder_gradient_has_the_standard_expectation(m, k, beta):
    """Paired over the same draws: the mean difference is within 4 standard errors of 0."""
    vae, x = _linear_model(2000)
    standard = _encoder_gradients(vae, x, m, k, beta, dreg=False)
    dreg = _encoder_gradients(vae, x, m, k, beta, dreg=True)
    diff = dreg - standard
    assert (diff.mean(0).abs() < 4 * diff.std(0) / math.sqrt(len(diff))).all()
    if beta == 1.0 and m == 1:       # the test can tell: leaving the score term out is biased
        params = vae.encode(x).detach().requires_grad_()
        torch.manual_seed(0)
        q, stopped = vae.latent.posterior(params), vae.latent.posterior(params.detach())
        z = q.rsample((k,))
        lw = vae.observation(z).log_prob(x) + vae.prior().log_prob(z) - stopped.log_prob(z)
        stl = torch.autograd.grad(torch.logsumexp(lw, 0).sum(), params)[0] - standard
        assert (stl.mean(0).abs() > 10 * stl.std(0) / math.sqrt(len(stl))).any()


def test_dreg_encoder_gradient_has_a_lower_variance_at_k_64():
    """Tucker et al.: the standard estimator's score term grows noisier with K; DReG's does not.
    Measured: 0.059 of the standard's variance (summed over lambda's coordinates), each
    coordinate 0.036-0.060 (MIWAE(4, 16): 0.48; (8, 8): 0.70)."""
    vae, x = _linear_model(2000)
    standard = _encoder_gradients(vae, x, 1, 64, 1.0, dreg=False, seed=1)
    dreg = _encoder_gradients(vae, x, 1, 64, 1.0, dreg=True, seed=1)
    ratio = dreg.var(0).sum() / standard.var(0).sum()
    assert ratio < 0.2, ratio


@pytest.mark.parametrize("dreg", [False, True])
def test_piwae_trains_the_encoder_by_miwae_and_the_decoder_by_iwae_mk(dreg):
    """On a tiny MLP VAE, against autograd of each bound over the same m k draws."""
    torch.manual_seed(0)
    model = build_model(tiny(latent_dim=3, hidden=8, likelihood="gaussian"), (5,))
    x = torch.randn(4, 5)
    m, k, beta = 3, 4, 0.7
    encoder, decoder = list(model.encoder.parameters()), list(model.decoder.parameters())

    def gradients(bound):
        params = model.encode(x)
        stopped = model.latent.posterior(params.detach()) if dreg else None
        value = _seeded(0, bound, x, model.latent.posterior(params), model.prior(),
                        model.observation, m, k, beta, stopped)
        return value, torch.autograd.grad(value.sum(), encoder + decoder)

    target, got = gradients(lambda *a: piwae(*a).iwae)
    miwae_value, by_miwae = gradients(miwae)

    def iwae_mk(x, q, prior, decode, m, k, beta, stopped):   # IWAE over piwae's m sets of k
        z = torch.stack([q.rsample((k,)) for _ in range(m)]).flatten(0, 1)
        log_q = (stopped or q).log_prob(z)
        lw = decode(z).log_prob(x) + beta * (prior.log_prob(z) - log_q)
        return torch.logsumexp(lw, 0) - math.log(m * k)

    iwae_value, by_iwae = gradients(iwae_mk)
    assert torch.allclose(target, iwae_value, atol=1e-12)
    assert torch.allclose(_seeded(0, piwae, x, model.posterior(x), model.prior(),
                                  model.observation, m, k, beta).miwae, miwae_value, atol=1e-12)
    n = len(encoder)
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(got[:n], by_miwae[:n]))
    assert all(torch.allclose(a, b, atol=1e-10) for a, b in zip(got[n:], by_iwae[n:]))
    assert any((a - b).abs().max() > 1e-4 for a, b in zip(by_miwae[n:], by_iwae[n:]))


def test_the_floor_stops_the_kl_gradient_below_it_and_only_there():
    groups = torch.tensor([[0.1, 2.0], [0.3, 1.0]], requires_grad=True)   # batch means 0.2, 1.5
    value = free_bits_kl(groups, floor=0.5)
    assert value.item() == pytest.approx(0.5 + 1.5)
    value.backward()
    assert torch.equal(groups.grad, torch.tensor([[0.0, 0.5], [0.0, 0.5]]))


def test_more_kl_samples_divide_the_variance_of_qs_gradient_and_keep_its_mean():
    """Against N(0, I) written as a one-component mixture (no closed form: the KL is sampled),
    the gradient of the S-draw KL with respect to q's mean is the mean of the draws z (log q's
    reparameterized gradient is the entropy's, zero in mu): its mean is the closed form's, mu,
    and its variance sigma^2 / S."""
    from vaekit.priors import GaussianMixture
    torch.manual_seed(0)
    dim, reps = 3, 20000
    p = GaussianMixture(torch.zeros(1), torch.zeros(1, dim), torch.ones(1, dim))
    decode = lambda z: Independent(Normal(z.new_zeros(z.shape[:-1] + (2,)), 1.0), 1)  # noqa
    sigma = torch.tensor([0.5, 1.0, 2.0])
    grads = {}
    for s in (1, 16):       # reps independent examples in one batch: each row's own gradient
        mu = torch.tensor([0.3, -0.2, 0.1]).repeat(reps, 1).requires_grad_()
        q = Independent(Normal(mu, sigma), 1)
        kl = elbo(torch.zeros(reps, 2), q, p, decode, kl_samples=s).kl.sum()
        grads[s] = torch.autograd.grad(kl, mu)[0]                          # [reps, dim]
    for s, g in grads.items():
        se = sigma / math.sqrt(s * reps)
        assert ((g.mean(0) - torch.tensor([0.3, -0.2, 0.1])).abs() < 5 * se).all(), s
        ratio = g.var(0) / (sigma ** 2 / s)
        assert ((ratio - 1).abs() < 0.06).all(), (s, ratio)     # its se: 0.01


def test_kl_samples_do_not_change_a_closed_form_kl():
    torch.manual_seed(0)
    q = Independent(Normal(torch.randn(4, 3), torch.rand(4, 3) + 0.5), 1)
    p = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    decode = lambda z: Independent(Normal(z.new_zeros(z.shape[:-1] + (2,)), 1.0), 1)  # noqa
    x = torch.zeros(4, 2)
    assert torch.allclose(elbo(x, q, p, decode, kl_samples=8).kl, kl_divergence(q, p))
