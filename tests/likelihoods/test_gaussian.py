"""The Gaussian likelihood (likelihoods/gaussian.py): mean and variance both outputs, bounded,
with mean and variance channels on colour images."""

import math

import torch

from vaekit.likelihoods import GaussianLikelihood


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
