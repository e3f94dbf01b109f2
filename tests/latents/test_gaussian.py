"""Gaussian latents (latents/gaussian.py): the reparameterized sample, the posterior as torch's
Independent Normal, and its KL groups (one per unit, for free bits); with a flow, the options,
the identity flow as the Gaussian itself, and an IAF closing pPCA's mean-field gap."""

import pytest
import torch
from torch import nn
from torch.distributions import Independent, kl_divergence, Normal

from vaekit import build_model, ModelConfig, VaekitError
from vaekit.latents import GaussianLatent, LATENTS
from vaekit.latents.base import IndependentPosterior
from vaekit.latents.gaussian import diagonal_gaussian, standard_normal
from vaekit.model import VAE
from vaekit.networks import Networks
from vaekit.objectives import elbo, iwae, kl_groups, kl_layers, log_weights

from inference.test_local import correlated


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


@pytest.mark.usefixtures("float64")
def test_the_gaussian_posterior_is_torchs_independent_normal_value_for_value():
    latent = GaussianLatent(4)
    params = torch.randn(6, 8)
    q = latent.posterior(params)
    assert isinstance(q, IndependentPosterior) and isinstance(q, Independent)
    plain = Independent(Normal(q.base_dist.loc, q.base_dist.scale), 1)
    prior = latent.prior()
    assert torch.equal(kl_divergence(q, prior), kl_divergence(plain, prior))
    z = q.sample((3,))
    assert torch.equal(q.log_prob(z), plain.log_prob(z))


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


# flows (latents/flows/): q = N(mu, sigma^2) pushed through invertible steps

def flow_spec(flow: str, **kw) -> dict:
    return {"name": "gaussian", "dim": 3, "flow": flow, "flow_steps": 2, **kw}


def test_a_flow_adds_its_encoder_outputs_and_only_where_it_applies():
    assert LATENTS.spec("gaussian").build().param_size == 100
    assert LATENTS.spec(flow_spec("planar")).build().param_size == 6 + 2 * 7
    assert LATENTS.spec(flow_spec("iaf", flow_width=16)).build().param_size == 6 + 16
    for bad, says in [(flow_spec("iaf", flow_steps=0), "flow_steps must be >= 1"),
                      (flow_spec("planer"), "did you mean planar"),
                      ({"name": "gaussian", "flow_steps": 3}, "give --flow planar or --flow iaf"),
                      (flow_spec("planar", flow_width=8), "give --flow iaf")]:
        with pytest.raises(VaekitError, match=says):
            LATENTS.spec(bad)
    with pytest.raises(VaekitError, match="without --flow"):
        ModelConfig(kind="ae", latent=flow_spec("iaf")).validate()


@pytest.mark.usefixtures("float64")
@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_a_flow_at_its_identity_is_the_gaussian_family_draw_for_draw(flow):
    """A new IAF, and planar steps with u = 0, give the Gaussian's draws, log q, ELBO terms
    (the KL as the one-sample log q - log p) and IWAE bound."""
    vae = build_model(ModelConfig(latent=flow_spec(flow)), (5,)).double()
    x = torch.rand(4, 5).bernoulli()
    params = vae.encode(x)
    if flow == "planar":                       # each step's (u, w, b): u = 0
        params = params.clone()
        params[:, 6:].view(4, 2, 7)[:, :, :3] = 0
    q, gaussian = vae.latent.posterior(params), diagonal_gaussian(params[:, :6])
    prior = vae.prior()
    torch.manual_seed(0)
    z, log_q = q.importance_draws(10)
    torch.manual_seed(0)
    z0 = gaussian.rsample((10,))
    assert torch.allclose(z, z0, atol=1e-14) and torch.allclose(log_q, gaussian.log_prob(z0))
    torch.manual_seed(1)
    terms = elbo(x, q, prior, vae.observation)
    torch.manual_seed(1)
    z0 = gaussian.rsample()
    assert torch.allclose(terms.log_lik, vae.observation(z0).log_prob(x))
    assert torch.allclose(terms.kl, gaussian.log_prob(z0) - prior.log_prob(z0))
    bounds = []
    for q_ in (q, gaussian):
        torch.manual_seed(2)
        bounds.append(iwae(x, q_, prior, vae.observation, k=8))
    assert torch.allclose(*bounds)


def fit_per_example(vae, x, iterations: int = 600, lr: float = 0.03):
    """Each example's q parameters and the flow's weights by Adam on the ELBO (16 draws), the
    decoder fixed; each example's ELBO then, and its standard error, by 20000 draws."""
    lam = torch.zeros(len(x), vae.latent.param_size, requires_grad=True)
    opt = torch.optim.Adam([lam, *vae.latent.parameters()], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iterations)
    for _ in range(iterations):
        q = vae.latent.posterior(lam)
        loss = -elbo(x, q, vae.prior(), vae.observation, n=16).elbo.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    with torch.no_grad():
        lw = log_weights(x, vae.latent.posterior(lam), vae.prior(), vae.observation, 20000)
    return lw.mean(0), lw.std(0) / len(lw) ** 0.5


@pytest.fixture
def one_thread():
    """Tiny tensors: one thread is faster, and not slowed by a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("float64", "one_thread")
def test_an_iaf_posterior_closes_the_mean_field_gap_of_ppca():
    """pPCA's p(z|x) is a correlated Gaussian: the best diagonal q stays its closed-form
    mean-field gap below log p(x); one IAF step (lower triangular, affine where its ELU units
    are) brings the ELBO to log p(x)."""
    lg = correlated()
    D, Z = lg.W.shape
    x = lg.sample(4, generator=torch.Generator().manual_seed(0))
    exact = lg.log_marginal(x)
    gaps = {}
    for flow in ("none", "iaf"):
        shape = {"flow": "iaf", "flow_steps": 1, "flow_width": 8} if flow == "iaf" else {}
        latent = {"name": "gaussian", "dim": Z, **shape}
        reference = lg.as_vae()                                   # the true decoder
        config = ModelConfig(latent=latent, likelihood=reference.config.likelihood,
                             network=reference.config.network)
        torch.manual_seed(0)
        size = config.validate().latent.build().param_size
        vae = VAE(config, (D,), Networks(nn.Linear(D, size), nn.Linear(Z, 2 * D))).double()
        vae.decoder.load_state_dict(reference.decoder.state_dict())
        bound, se = fit_per_example(vae, x)
        gaps[flow] = (exact - bound).mean().item(), se.pow(2).mean().sqrt().item()
    mean_field = lg.mean_field_gap()                              # 0.40 nats
    assert gaps["none"][0] > mean_field - 4 * gaps["none"][1], (gaps, mean_field)
    assert -4 * gaps["iaf"][1] < gaps["iaf"][0] < 0.01, gaps


def test_the_same_shape_normal_is_torchs_normal():
    """diagonal_gaussian builds its Normal without torch's broadcast: the same distribution."""
    from torch.distributions import Normal
    from vaekit.latents.gaussian import same_shape_normal
    loc, scale = torch.randn(5, 3, dtype=torch.float64), torch.rand(5, 3, dtype=torch.float64) + .1
    fast, ref = same_shape_normal(loc, scale), Normal(loc, scale)
    z = torch.randn(4, 5, 3, dtype=torch.float64)
    assert type(fast) is Normal and fast.batch_shape == ref.batch_shape == (5, 3)
    assert torch.equal(fast.log_prob(z), ref.log_prob(z))
    assert torch.equal(fast.entropy(), ref.entropy()) and torch.equal(fast.mean, ref.mean)
    torch.manual_seed(0)
    a = fast.rsample((2,))
    torch.manual_seed(0)
    assert torch.equal(a, ref.rsample((2,)))
    wide = (2, 5, 3)
    assert torch.equal(fast.expand(wide).log_prob(z[:2]), ref.expand(wide).log_prob(z[:2]))
    assert not torch.distributions.kl_divergence(fast, ref).any()
