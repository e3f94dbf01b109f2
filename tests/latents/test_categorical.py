"""Gumbel-softmax latents: the relaxation, straight-through, closed-form KL, honest evaluation,
KL groups (one per variable, for free bits)."""

import itertools
import math

import torch

from vaekit import build_model, elbo, log_likelihood, log_weights, ModelConfig
from vaekit.latents import CategoricalLatent
from vaekit.latents.categorical import CategoricalLatent
from vaekit.objectives import kl_groups, kl_layers


def posterior(tau=1.0, straight_through=False, n=3, k=4, batch=5, seed=0):
    lat = CategoricalLatent(n, k, tau=tau, tau_min=min(tau, 0.5), straight_through=straight_through)
    logits = torch.randn(batch, n * k, generator=torch.Generator().manual_seed(seed))
    return lat, lat.posterior(logits.requires_grad_())


def test_relaxed_samples_lie_on_the_simplex_and_harden_as_tau_falls():
    torch.manual_seed(0)
    peaks = []
    for tau in (5.0, 1.0, 0.1, 0.01):
        _, q = posterior(tau)
        y = q.rsample((200,)).unflatten(-1, (3, 4))          # [S, B, N, K]
        assert (y >= 0).all() and torch.allclose(y.sum(-1), torch.ones(()), atol=1e-5)
        peaks.append(y.max(-1).values.mean().item())
    assert peaks == sorted(peaks) and peaks[-1] > 0.99 and peaks[0] < 0.5


def test_straight_through_is_one_hot_forward_with_gradients_backward():
    torch.manual_seed(0)
    lat = CategoricalLatent(3, 4, straight_through=True)
    raw = torch.randn(5, 12, requires_grad=True)
    z = lat.posterior(raw).rsample()
    blocks = z.detach().unflatten(-1, (3, 4))
    assert set(blocks.unique().tolist()) == {0.0, 1.0} and (blocks.sum(-1) == 1).all()
    (z * torch.randn(12)).sum().backward()
    assert raw.grad is not None and raw.grad.abs().sum() > 0


def test_categorical_kl_closed_form_matches_monte_carlo():
    lat, q = posterior()
    p = lat.prior()
    closed = torch.distributions.kl_divergence(q, p)
    torch.manual_seed(0)
    z = q.sample((100_000,))
    mc = q.log_prob(z) - p.log_prob(z)
    se = mc.std(0) / math.sqrt(len(z))
    assert closed.shape == (5,) and (closed >= 0).all()
    assert ((closed - mc.mean(0)).abs() < 4 * se).all()
    uniform = lat.posterior(torch.zeros(1, 12))
    assert torch.allclose(torch.distributions.kl_divergence(uniform, p), torch.zeros(1), atol=1e-6)


def small_model(n=2, k=3, straight_through=False):
    torch.manual_seed(0)
    cfg = ModelConfig(latent={"name": "categorical", "vars": n, "classes": k,
                              "straight_through": straight_through},
                      network={"name": "mlp", "encoder_hidden": (8,), "decoder_hidden": (8,)})
    return build_model(cfg, (6,))


def test_importance_sampled_log_px_matches_the_exact_sum_over_every_z():
    model = small_model()
    x = torch.rand(4, 6, generator=torch.Generator().manual_seed(1)).round()
    # every z: 3 classes for each of 2 variables -> 9 one-hot configurations
    configs = torch.stack([torch.cat([torch.eye(3)[a], torch.eye(3)[b]])
                           for a, b in itertools.product(range(3), range(3))])   # [9, 6]
    with torch.no_grad():
        joint = model.observation(configs.unsqueeze(1)).log_prob(x) + model.prior().log_prob(configs).unsqueeze(1)
    exact = torch.logsumexp(joint, 0)                                            # [4]
    torch.manual_seed(0)
    ll = log_likelihood(model, x, k=5000)
    assert (ll.mc_se > 0).all()
    assert ((ll.per_example - exact).abs() < 3 * ll.mc_se).all()


def test_evaluation_uses_hard_samples_and_training_the_relaxation():
    model = small_model()
    x = torch.rand(3, 6).round()
    seen = []

    def decode(z):
        seen.append(z)
        return model.observation(z)

    q, p = model.posterior(x), model.prior()
    log_weights(x, q, p, decode, k=4, reparameterized=False)
    elbo(x, q, p, decode)
    hard, relaxed = seen
    assert set(hard.unique().tolist()) <= {0.0, 1.0}
    assert not set(relaxed.detach().unique().tolist()) <= {0.0, 1.0}


def test_temperature_anneals_on_schedule_and_is_saved_with_the_weights():
    lat = CategoricalLatent(2, 3, tau=1.0, tau_min=0.5, anneal_rate=1e-3, anneal_every=100)
    lat.anneal(50)
    assert lat.tau.item() == 1.0                       # only every 100 steps
    lat.anneal(100)
    assert math.isclose(lat.tau.item(), math.exp(-0.1), rel_tol=1e-6)
    lat.anneal(10_000)
    assert lat.tau.item() == 0.5                       # the floor
    assert "tau" in lat.state_dict()


def test_categorical_groups_are_its_variables():
    latent = CategoricalLatent(n_vars=4, n_classes=3)
    q = latent.posterior(torch.randn(6, 12))
    groups = kl_groups(q, latent.prior(), kl_layers(q, latent.prior()))
    assert groups.shape == (6, 4)
    probs = q.logits.exp()
    expected = (probs * (q.logits + torch.log(torch.tensor(3.0)))).sum(-1)   # KL to uniform
    assert torch.allclose(groups, expected, atol=1e-5)
