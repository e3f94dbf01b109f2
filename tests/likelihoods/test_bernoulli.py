"""The Bernoulli likelihood (likelihoods/bernoulli.py) against its formula and torch's."""

import torch
from torch.distributions import Independent

from vaekit.likelihoods import BernoulliLikelihood


def test_bernoulli_likelihood_matches_the_formula():
    logits, x = torch.randn(5, 10), torch.rand(5, 10).round()
    expected = (x * logits - torch.nn.functional.softplus(logits)).sum(-1)
    assert torch.allclose(BernoulliLikelihood((10,))(logits).log_prob(x), expected, atol=1e-5)
    images = BernoulliLikelihood((2, 5, 1))(logits.reshape(5, 2, 5, 1))     # event [C, H, W]
    assert torch.allclose(images.log_prob(x.reshape(5, 2, 5, 1)), expected, atol=1e-5)


def test_independent_bernoulli_equals_torch_composition_with_broadcasting():
    logits = torch.randn(3, 5, 10, requires_grad=True)   # [k, B, D]
    x = torch.rand(5, 10).round()                        # [B, D] broadcasts over k
    ours = BernoulliLikelihood((10,))(logits).log_prob(x)
    ref = Independent(torch.distributions.Bernoulli(logits=logits), 1).log_prob(x)
    assert ours.shape == (3, 5) and torch.allclose(ours, ref, atol=1e-5)
    g1, = torch.autograd.grad(ours.sum(), logits)
    g2, = torch.autograd.grad(ref.sum(), logits)
    assert torch.allclose(g1, g2, atol=1e-6)


def test_the_bernoulli_built_without_broadcast_is_torchs():
    from torch.distributions import Bernoulli, Independent
    from vaekit.likelihoods.bernoulli import IndependentBernoulli
    logits = torch.randn(4, 1, 3, 3, dtype=torch.float64)
    x = torch.rand(4, 1, 3, 3, dtype=torch.float64).round()
    fast, ref = IndependentBernoulli(logits, 3), Independent(Bernoulli(logits=logits), 3)
    assert fast.batch_shape == ref.batch_shape and fast.event_shape == ref.event_shape
    assert torch.allclose(fast.log_prob(x), ref.log_prob(x), rtol=0, atol=1e-12)
    assert torch.allclose(fast.log_prob(x[:1]), ref.log_prob(x[:1]), rtol=0, atol=1e-12)
    assert torch.equal(fast.mean, ref.mean) and torch.equal(fast.entropy(), ref.entropy())
    assert torch.equal(fast.base_dist.probs, ref.base_dist.probs)
