"""The three axes: networks, latent family, likelihood."""

import math

import torch
from torch.distributions import Independent

from vaekit import VAE, ModelConfig
from vaekit.likelihoods import BernoulliLikelihood, GaussianLikelihood


def test_default_architecture_is_burda_one_layer():
    vae = VAE(ModelConfig())
    widths = [(m.in_features, m.out_features) for m in vae.encoder if hasattr(m, "in_features")]
    assert widths == [(784, 200), (200, 200), (200, 100)]            # 50 mu + 50 sigma
    widths = [(m.in_features, m.out_features) for m in vae.decoder if hasattr(m, "in_features")]
    assert widths == [(50, 200), (200, 200), (200, 784)]
    assert isinstance(vae.encoder[1], torch.nn.Tanh)


def test_model_returns_distributions_with_the_right_shapes():
    vae = VAE(ModelConfig(x_dim=64, image_shape=(8, 8), latent_dim=5))
    x = torch.rand(3, 64).round()
    q = vae.posterior(x)
    assert isinstance(q, Independent) and q.batch_shape == (3,) and q.event_shape == (5,)
    z = q.rsample((7,))
    px = vae.observation(z)
    assert px.batch_shape == (7, 3) and px.event_shape == (64,)
    assert vae.prior().event_shape == (5,)
    assert vae.sample(4).shape == (4, 64) and vae.reconstruct(x).shape == (3, 64)


def test_reparameterized_sample_is_mu_plus_sigma_eps():
    vae = VAE(ModelConfig(x_dim=4, image_shape=None, latent_dim=2))
    q = vae.posterior(torch.rand(1, 4))
    torch.manual_seed(0)
    z = q.rsample()
    torch.manual_seed(0)
    eps = torch.randn(1, 2)
    assert torch.allclose(z, q.base_dist.loc + q.base_dist.scale * eps)
    z.sum().backward()                      # gradients reach the encoder through z
    assert vae.encoder[-1].weight.grad.abs().sum() > 0


def test_bernoulli_likelihood_matches_the_formula():
    logits, x = torch.randn(5, 10), torch.rand(5, 10).round()
    expected = (x * logits - torch.nn.functional.softplus(logits)).sum(-1)
    assert torch.allclose(BernoulliLikelihood()(logits).log_prob(x), expected, atol=1e-5)


def test_gaussian_likelihood_mean_and_variance_are_both_outputs_and_bounded():
    lik = GaussianLikelihood(min_std=1e-3)
    params = torch.zeros(2, 8)
    params[:, 4:] = -1e4                        # the variance network pushed to zero
    x = torch.zeros(2, 4)                       # constant pixels, exactly at the mean
    log_p = lik(params).log_prob(x)
    bound = -4 * math.log(1e-3 * math.sqrt(2 * math.pi))
    assert torch.isfinite(log_p).all() and torch.allclose(log_p, torch.full((2,), bound))
    params[:, 4:] = 2.0
    assert torch.allclose(lik(params).stddev, 1e-3 + torch.nn.functional.softplus(torch.tensor(2.0)))


def test_independent_bernoulli_equals_torch_composition_with_broadcasting():
    logits = torch.randn(3, 5, 10, requires_grad=True)   # [k, B, D]
    x = torch.rand(5, 10).round()                        # [B, D] broadcasts over k
    ours = BernoulliLikelihood()(logits).log_prob(x)
    ref = Independent(torch.distributions.Bernoulli(logits=logits), 1).log_prob(x)
    assert ours.shape == (3, 5) and torch.allclose(ours, ref, atol=1e-5)
    g1, = torch.autograd.grad(ours.sum(), logits)
    g2, = torch.autograd.grad(ref.sum(), logits)
    assert torch.allclose(g1, g2, atol=1e-6)


def test_standard_normal_prior_kl_matches_the_general_formula():
    from torch.distributions import Normal, kl_divergence
    vae = VAE(ModelConfig(x_dim=4, image_shape=None, latent_dim=3))
    q = vae.posterior(torch.rand(6, 4))
    fast = kl_divergence(q, vae.prior())
    general = kl_divergence(q, Independent(Normal(torch.zeros(3), torch.ones(3)), 1))
    assert fast.shape == (6,) and torch.allclose(fast, general, atol=1e-6)
