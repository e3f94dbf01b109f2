"""The diagonal-Gaussian mixture (priors/mixture.py): its fast log_prob and sample are
MixtureSameFamily's, values and gradients, and its float32 values keep their precision."""

import math

import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from vaekit.priors import GaussianMixture, mixture


def parts(K=6, Z=4, dtype=torch.float64, seed=0, small=0.05):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(K, generator=g, dtype=dtype)
    loc = 3 * torch.randn(K, Z, generator=g, dtype=dtype)
    scale = small + torch.rand(K, Z, generator=g, dtype=dtype)
    return logits, loc, scale


def generic(logits, loc, scale):
    return MixtureSameFamily(Categorical(logits=logits), Independent(Normal(loc, scale), 1))


def test_log_prob_and_its_gradients_are_mixture_same_familys(float64):
    fast_parts = [t.requires_grad_() for t in parts()]
    slow_parts = [t.detach().clone().requires_grad_() for t in fast_parts]
    z = (3 * torch.randn(5, 7, 4)).requires_grad_()
    fast = GaussianMixture(*fast_parts).log_prob(z)
    slow = generic(*slow_parts).log_prob(z)
    assert fast.shape == (5, 7) and torch.allclose(fast, slow, rtol=0, atol=1e-10)
    grads = torch.autograd.grad(fast.sum(), [*fast_parts, z])
    expected = torch.autograd.grad(slow.sum(), [*slow_parts, z])
    for a, b in zip(grads, expected):
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-9)


def test_float32_keeps_its_precision_at_small_scales():
    logits, loc, scale = parts(K=50, Z=20, small=0.01)
    k = torch.randint(50, (400,), generator=torch.Generator().manual_seed(1))
    z = loc[k] + 2 * scale[k] * torch.randn(400, 20, dtype=torch.float64)
    exact = generic(logits, loc, scale).log_prob(z)
    value = GaussianMixture(logits.float(), loc.float(), scale.float()).log_prob(z.float())
    assert value.dtype == torch.float32 and (value.double() - exact).abs().max() < 1e-3


def test_samples_have_the_mixtures_moments_and_weights():
    logits = torch.tensor([0.5, -0.5, 1.0], dtype=torch.float64)
    loc = torch.tensor([[-10.0, 0.0], [0.0, 10.0], [10.0, 0.0]], dtype=torch.float64)
    scale = torch.tensor([[0.5, 1.0], [1.0, 2.0], [1.5, 0.5]], dtype=torch.float64)
    p = GaussianMixture(logits, loc, scale)
    torch.manual_seed(0)
    z = p.sample((200_000,))
    assert z.shape == (200_000, 2) and not z.requires_grad
    se_mean = (p.variance / len(z)).sqrt()
    assert ((z.mean(0) - p.mean).abs() < 5 * se_mean).all()
    assert torch.allclose(z.var(0), p.variance, rtol=0.02)
    nearest = torch.cdist(z, loc).argmin(-1)          # the components are far apart
    share = torch.bincount(nearest, minlength=3) / len(z)
    assert (share - logits.softmax(0)).abs().max() < 0.02


def test_mixture_takes_the_fast_path_for_diagonal_gaussians_only():
    logits, loc, scale = parts()
    assert type(mixture(logits, Independent(Normal(loc, scale), 1))) is GaussianMixture
    other = Independent(torch.distributions.Laplace(loc, scale), 1)
    p = mixture(logits, other)
    assert type(p) is MixtureSameFamily and math.isfinite(p.log_prob(loc[0]).item())
