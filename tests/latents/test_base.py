"""The latent-family protocol's defaults (latents/base.py), checked against torch and by hand,
and the families' declarations the trainer and pictures read."""

import pytest
import torch
from torch.distributions import Independent, kl_divergence, MultivariateNormal, Normal, StudentT

from vaekit.latents import CategoricalLatent, GaussianLatent, HierarchicalLatent, JointLatent
from vaekit.latents.base import IndependentPosterior, LatentFamily, methods, Posterior
from vaekit.objectives import kl_groups, kl_layers, kl_term, labelled_elbo

pytestmark = pytest.mark.usefixtures("float64")


def gaussian_pair(batch=5, dim=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    loc, scale = torch.randn(batch, dim, generator=g), torch.rand(batch, dim, generator=g) + 0.3
    q = IndependentPosterior(Normal(loc, scale), 1)
    return q, Independent(Normal(torch.zeros(dim), torch.ones(dim) * 1.5), 1)


def test_default_kl_layers_is_torchs_closed_form_as_one_column():
    q, p = gaussian_pair()
    layers = q.kl_layers(p)
    assert layers.shape == (5, 1)
    assert torch.equal(layers[:, 0], kl_divergence(q, p))


def test_default_kl_layers_without_closed_form_is_monte_carlo_at_the_given_draws():
    # KL(Independent Normal || Independent StudentT) is not registered in torch
    q, _ = gaussian_pair()
    p = Independent(StudentT(4.0, torch.zeros(3), torch.ones(3)), 1)
    z = q.sample((7,))                                                      # [7, 5, 3]
    layers = q.kl_layers(p, z)
    assert layers.shape == (7, 5, 1)
    assert torch.equal(layers[..., 0], q.log_prob(z) - p.log_prob(z))
    # the objective averages the draws: [B, 1], and kl_term is its sum
    assert torch.allclose(kl_layers(q, p, z)[:, 0], (q.log_prob(z) - p.log_prob(z)).mean(0))
    assert torch.allclose(kl_term(q, p, z), kl_layers(q, p, z).sum(-1))


def test_default_kl_groups_are_the_units_and_sum_to_the_kl():
    q, p = gaussian_pair()
    groups = q.kl_groups(p, q.kl_layers(p))
    assert groups.shape == (5, 3)
    assert torch.allclose(groups, kl_divergence(q.base_dist, p.base_dist))
    assert torch.allclose(groups.sum(-1), kl_divergence(q, p))


def test_default_kl_groups_fall_back_to_the_layers_without_units():
    q = MultivariateNormal(torch.zeros(2, 3), torch.eye(3) * 0.5)
    p = MultivariateNormal(torch.zeros(3), torch.eye(3))
    layers = kl_layers(q, p)
    assert torch.equal(kl_groups(q, p, layers), layers)
    assert torch.allclose(layers[:, 0], kl_divergence(q, p))


def test_default_importance_draws_are_q_itself_with_its_log_prob():
    q, _ = gaussian_pair()
    torch.manual_seed(3)
    z, log_q = q.importance_draws(11, reparameterized=False)
    assert z.shape == (11, 5, 3) and log_q.shape == (11, 5)
    assert torch.equal(log_q, q.log_prob(z))
    torch.manual_seed(3)
    assert torch.equal(z, q.sample((11,)))
    z, _ = q.importance_draws(2, reparameterized=True)
    assert z.shape == (2, 5, 3)


def test_default_has_no_enumeration_and_no_class_variable():
    q, p = gaussian_pair()
    assert q.enumeration(4, reparameterized=False) is None
    for call in (lambda: q.labelled_terms(p, torch.zeros(5).long()),
                 lambda: q.class_log_prob(torch.zeros(5).long()), q.classify):
        with pytest.raises(NotImplementedError):
            call()


def test_a_plain_torch_distribution_gets_the_same_defaults():
    q, p = gaussian_pair()
    plain = Independent(Normal(q.base_dist.loc, q.base_dist.scale), 1)
    assert not isinstance(plain, Posterior) and methods(q) is q
    assert torch.equal(methods(plain).kl_layers(p), q.kl_layers(p))
    assert torch.equal(kl_groups(plain, p, None), q.kl_groups(p, None))
    assert methods(plain).enumeration(1, True) is None
    with pytest.raises(NotImplementedError):
        labelled_elbo(torch.zeros(5, 2), torch.zeros(5).long(), plain, p, None)


def test_module_defaults_and_declarations():
    base = LatentFamily()
    assert base.classes == 0 and base.temperature is None and base.anneal(10) is None
    assert torch.equal(base.decoder_input(torch.ones(2, 3)), torch.ones(2, 3))
    gaussian, categorical = GaussianLatent(3), CategoricalLatent(2, 3, tau=0.8)
    joint = JointLatent(classes=3, dim=2, exact=True, tau=0.5)
    hierarchical = HierarchicalLatent((3, 2), ((4,),), ((4,),))
    assert [f.classes for f in (gaussian, categorical, joint, hierarchical)] == [0, 0, 3, 0]
    assert gaussian.temperature is None and categorical.temperature == pytest.approx(0.8)
    assert joint.temperature is None          # its tau is fixed: nothing to log
    grid = joint.class_grid(4)                                              # [3*4, 3+2]
    assert grid.shape == (12, 5)
    assert torch.equal(grid[:, :3], torch.eye(3).repeat_interleave(4, 0))
    assert torch.equal(grid[:4, 3:], grid[8:, 3:])                          # same z per column
    with pytest.raises(NotImplementedError):
        gaussian.class_grid(4)
