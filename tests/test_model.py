"""The three axes: networks, latent family, likelihood."""

import math

import torch
from torch.distributions import Independent

from vaekit import VAE, ModelConfig, build_model
from vaekit.likelihoods import BernoulliLikelihood, GaussianLikelihood

from conftest import tiny


def test_default_architecture_is_burda_one_layer():
    vae = build_model(ModelConfig(), (1, 28, 28))
    widths = [(m.in_features, m.out_features) for m in vae.encoder if hasattr(m, "in_features")]
    assert widths == [(784, 200), (200, 200), (200, 100)]            # 50 mu + 50 sigma
    widths = [(m.in_features, m.out_features) for m in vae.decoder if hasattr(m, "in_features")]
    assert widths == [(50, 200), (200, 200), (200, 784)]
    assert isinstance(vae.encoder[1], torch.nn.Tanh)


def test_model_returns_distributions_with_the_right_shapes():
    vae = build_model(ModelConfig(latent={"name": "gaussian", "dim": 5}), (1, 8, 8))
    x = torch.rand(3, 1, 8, 8).round()
    q = vae.posterior(x)
    assert isinstance(q, Independent) and q.batch_shape == (3,) and q.event_shape == (5,)
    z = q.rsample((7,))
    px = vae.observation(z)
    assert px.batch_shape == (7, 3) and px.event_shape == (1, 8, 8)
    assert vae.prior().event_shape == (5,)
    assert vae.sample(4).shape == (4, 1, 8, 8) and vae.reconstruct(x).shape == (3, 1, 8, 8)


def test_reparameterized_sample_is_mu_plus_sigma_eps():
    vae = build_model(ModelConfig(latent={"name": "gaussian", "dim": 2}), (4,))
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
    assert torch.allclose(BernoulliLikelihood((10,))(logits).log_prob(x), expected, atol=1e-5)
    images = BernoulliLikelihood((2, 5, 1))(logits.reshape(5, 2, 5, 1))     # event [C, H, W]
    assert torch.allclose(images.log_prob(x.reshape(5, 2, 5, 1)), expected, atol=1e-5)


def test_gaussian_likelihood_mean_and_variance_are_both_outputs_and_bounded():
    lik = GaussianLikelihood((4,), min_std=1e-3)
    assert lik.param_shape == (8,)
    params = torch.zeros(2, 8)
    params[:, 4:] = -1e4                        # the variance network pushed to zero
    x = torch.zeros(2, 4)                       # constant pixels, exactly at the mean
    log_p = lik(params).log_prob(x)
    bound = -4 * math.log(1e-3 * math.sqrt(2 * math.pi))
    assert torch.isfinite(log_p).all() and torch.allclose(log_p, torch.full((2,), bound))
    params[:, 4:] = 2.0
    assert torch.allclose(lik(params).stddev, 1e-3 + torch.nn.functional.softplus(torch.tensor(2.0)))


def test_gaussian_likelihood_on_colour_images_has_mean_and_variance_channels():
    lik = GaussianLikelihood((3, 2, 2), min_std=1e-3)
    assert lik.param_shape == (6, 2, 2)
    params = torch.randn(5, 6, 2, 2)
    x = torch.rand(5, 3, 2, 2)
    loc, scale = params[:, :3], 1e-3 + torch.nn.functional.softplus(params[:, 3:])
    expected = torch.distributions.Normal(loc, scale).log_prob(x).sum((1, 2, 3))
    dist = lik(params)
    assert dist.event_shape == (3, 2, 2) and torch.allclose(dist.log_prob(x), expected)
    assert lik.mean_image(dist).shape == (5, 3, 2, 2)


def test_independent_bernoulli_equals_torch_composition_with_broadcasting():
    logits = torch.randn(3, 5, 10, requires_grad=True)   # [k, B, D]
    x = torch.rand(5, 10).round()                        # [B, D] broadcasts over k
    ours = BernoulliLikelihood((10,))(logits).log_prob(x)
    ref = Independent(torch.distributions.Bernoulli(logits=logits), 1).log_prob(x)
    assert ours.shape == (3, 5) and torch.allclose(ours, ref, atol=1e-5)
    g1, = torch.autograd.grad(ours.sum(), logits)
    g2, = torch.autograd.grad(ref.sum(), logits)
    assert torch.allclose(g1, g2, atol=1e-6)


def test_standard_normal_prior_kl_matches_the_general_formula():
    from torch.distributions import Normal, kl_divergence
    vae = build_model(tiny(latent_dim=3), (4,))
    q = vae.posterior(torch.rand(6, 4))
    fast = kl_divergence(q, vae.prior())
    general = kl_divergence(q, Independent(Normal(torch.zeros(3), torch.ones(3)), 1))
    assert fast.shape == (6,) and torch.allclose(fast, general, atol=1e-6)
