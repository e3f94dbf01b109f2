"""Free bits (Kingma et al. 2016): the KL floor per latent group, its gradient, and training
with it on a model that collapses without it."""

import pytest
import torch
from torch.distributions import Independent, Normal

import vaekit
from vaekit.latents import CategoricalLatent
from vaekit.latents.gaussian import standard_normal
from vaekit.objectives import free_bits_kl, kl_groups, kl_layers


def test_gaussian_groups_are_its_units_and_sum_to_the_kl():
    torch.manual_seed(0)
    q = Independent(Normal(torch.randn(5, 3), torch.rand(5, 3) + 0.2), 1)
    prior = standard_normal(torch.zeros(3), torch.ones(3))
    groups = kl_groups(q, prior, kl_layers(q, prior))
    assert groups.shape == (5, 3)
    # per unit: the closed form 0.5 (mu^2 + s^2 - 1) - log s, written out here
    mu, s = q.base_dist.loc, q.base_dist.scale
    assert torch.allclose(groups, 0.5 * (mu ** 2 + s ** 2 - 1) - s.log(), atol=1e-6)
    assert torch.allclose(groups.sum(-1), torch.distributions.kl_divergence(q, prior), atol=1e-5)


def test_categorical_groups_are_its_variables():
    latent = CategoricalLatent(n_vars=4, n_classes=3)
    q = latent.posterior(torch.randn(6, 12))
    groups = kl_groups(q, latent.prior(), kl_layers(q, latent.prior()))
    assert groups.shape == (6, 4)
    probs = q.logits.exp()
    expected = (probs * (q.logits + torch.log(torch.tensor(3.0)))).sum(-1)   # KL to uniform
    assert torch.allclose(groups, expected, atol=1e-5)


def test_the_floor_stops_the_kl_gradient_below_it_and_only_there():
    groups = torch.tensor([[0.1, 2.0], [0.3, 1.0]], requires_grad=True)   # batch means 0.2, 1.5
    value = free_bits_kl(groups, floor=0.5)
    assert value.item() == pytest.approx(0.5 + 1.5)
    value.backward()
    assert torch.equal(groups.grad, torch.tensor([[0.0, 0.5], [0.0, 0.5]]))


def unit_kls(result):
    model = result.model.eval()
    with torch.no_grad():
        q = model.posterior(result.splits.valid)
        return kl_groups(q, model.prior(), kl_layers(q, model.prior())).mean(0)


def test_free_bits_keep_every_unit_near_its_floor_where_training_collapses(tmp_path):
    """A KL weight of 4 collapses all 8 units; a floor of 0.5 nats keeps each of them near it.
    Below the floor a group gets no KL gradient, and above it the weight 4 pushes it back, so
    a group hovers just under its floor (0.39-0.47 here at 40 epochs), not above it."""
    def run(free_bits):
        config = vaekit.TrainConfig(model=vaekit.ModelConfig(latent={"name": "gaussian",
                                                                     "dim": 8}),
                                    epochs=30, beta=4.0, free_bits=free_bits, threads=1)
        return vaekit.train(config, tmp_path / str(free_bits), progress=False, final_eval=False)
    collapsed, floored = unit_kls(run(0.0)), unit_kls(run(0.5))
    assert (collapsed < 0.01).all(), collapsed
    assert (floored > 0.3).all() and floored.mean() > 0.35, floored
