"""The VampPrior (priors/vamp.py) against the mixture of the encoder's Gaussians written out by
hand; its pseudo-inputs; samples, evaluation and checkpoints through the learned prior."""

import math

import pytest
import torch

from vaekit import build_model, checkpoint, evaluate, log_likelihood
from vaekit.config import TrainConfig
from vaekit.linear_gaussian import random_linear_gaussian
from vaekit.priors import MoGPrior

from conftest import tiny


def vamp_model(components=5, dim=3, seed=0):
    torch.manual_seed(seed)
    return build_model(tiny(latent_dim=dim, prior={"name": "vamp", "components": components}),
                       (6,)).double()


def by_hand(vae, z: torch.Tensor) -> torch.Tensor:
    """log (1/K) sum_k prod_d N(z_d; mu_kd, sigma_kd^2), (mu, sigma) the encoder's at u_k."""
    u = vae.latent_prior.raw.clamp(0, 1)                                            # [K, D]
    mu, pre = vae.encoder(u).chunk(2, -1)                                           # [K, Z]
    sigma = torch.nn.functional.softplus(pre) + 1e-5
    t = (z.unsqueeze(-2) - mu) / sigma                                              # [..., K, Z]
    log_n = (-0.5 * t ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)).sum(-1)     # [..., K]
    return torch.logsumexp(log_n, -1) - math.log(len(u))


def test_log_prob_is_the_encoders_mixture_written_out(float64):
    vae = vamp_model()
    z = torch.randn(4, 3, 3)
    with torch.no_grad():
        assert torch.allclose(vae.prior().log_prob(z), by_hand(vae, z), rtol=0, atol=1e-12)


def test_pseudo_inputs_start_in_the_data_range_and_stay_there():
    vae = vamp_model()
    u = vae.latent_prior.pseudo_inputs()
    assert u.shape == (5, 6) and 0 <= u.min() and u.max() <= 1 and u.std() > 0.1
    with torch.no_grad():
        vae.latent_prior.raw[0] = 3.0
        vae.latent_prior.raw[1] = -2.0
    u = vae.latent_prior.pseudo_inputs()
    assert (u[0] == 1).all() and (u[1] == 0).all()


def test_one_pseudo_input_is_its_posterior():
    vae = vamp_model(components=1)
    z = torch.randn(10, 3, dtype=torch.float64)
    q = vae.latent.posterior(vae.encode(vae.latent_prior.pseudo_inputs()))
    assert torch.allclose(vae.prior().log_prob(z), q.log_prob(z).squeeze(-1), atol=1e-12)


def test_the_elbo_trains_the_pseudo_inputs_and_the_encoder_through_the_prior():
    from vaekit.training.vae_step import loss_and_terms
    vae = vamp_model()
    x = torch.rand(8, 6, dtype=torch.float64).round()
    params = vae.encode(x).detach()            # so that the encoder's gradient is the prior's
    loss, _ = loss_and_terms(vae, x, params, TrainConfig(model=vae.config), beta=1.0)
    loss.backward()
    assert vae.latent_prior.raw.grad.abs().sum() > 0
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in vae.encoder.parameters())


def test_samples_come_from_the_learned_prior():
    for prior in ("vamp", "mog"):
        torch.manual_seed(0)
        vae = build_model(tiny(latent_dim=2, prior=prior), (6,))
        if prior == "mog":
            with torch.no_grad():
                vae.latent_prior.loc.fill_(10.0)
            assert (vae.prior().sample((2000,)).mean(0) - 10).abs().max() < 0.2
        torch.manual_seed(1)
        images = vae.sample(5)
        torch.manual_seed(1)
        z = vae.prior().sample((5,))
        assert torch.equal(images, vae.likelihood.mean_image(vae.observation(z)))


def test_evaluation_of_a_vamp_model_is_finite_and_names_the_prior():
    vae = vamp_model().eval()
    x = torch.rand(30, 6, dtype=torch.float64).round()
    torch.manual_seed(0)
    out = evaluate(vae, x, k=50, n_loglik=10)
    numbers = [v for k, v in out.items() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers) and out["prior"].startswith("vamp")
    assert "KL by sampling" in out["prior"] and 0 <= out["active_units"] <= 3
    assert -out["nll"] >= out["elbo"] - 4 * out["elbo_se"] - 1.0     # log p(x) >= ELBO, noisy


def test_importance_sampling_reads_the_prior(float64):
    """A one-component mixture at N(0, I) gives the standard prior's estimate draw for draw
    (within 3 Monte Carlo errors of the exact linear-Gaussian log p(x)); a shifted one less."""
    lg = random_linear_gaussian(D=6, Z=2, s=0.5, dtype=torch.float64)
    x = lg.sample(5, torch.Generator().manual_seed(0))
    vae = lg.as_vae()
    torch.manual_seed(0)
    standard = log_likelihood(vae, x, k=500).per_example
    vae.latent_prior = MoGPrior(2, 1).double()
    with torch.no_grad():
        vae.latent_prior.loc.zero_()
    torch.manual_seed(0)
    ll = log_likelihood(vae, x, k=500)
    assert torch.allclose(ll.per_example, standard, rtol=0, atol=1e-9)
    assert ((ll.per_example - lg.log_marginal(x)).abs() < 3 * ll.mc_se).all()
    with torch.no_grad():
        vae.latent_prior.loc.fill_(3.0)
    assert (log_likelihood(vae, x, k=500).per_example < lg.log_marginal(x) - 1).all()


def test_a_checkpoint_gives_the_same_log_prior(tmp_path):
    vae = vamp_model(components=7).float()
    with torch.no_grad():
        vae.latent_prior.raw.mul_(0.5)           # not the initial values
    config = TrainConfig(model=vae.config)
    checkpoint.save(tmp_path / "ckpt", vae, config, epoch=1, step=1)
    loaded, ckpt = checkpoint.load_model(tmp_path / "ckpt")
    assert ckpt.config.model.prior.name == "vamp" and ckpt.config.model.prior.components == 7
    z = torch.randn(20, 3)
    with torch.no_grad():
        assert torch.equal(loaded.prior().log_prob(z), vae.eval().prior().log_prob(z))


@pytest.mark.parametrize("network", ["mlp", "conv", "resnet"])
@pytest.mark.parametrize("inference", ["amortized", "semi"])
def test_vamp_and_mog_train_on_every_network_and_encoder_scheme(network, inference):
    """Pseudo-inputs shaped like the images [C, H, W]; semi: the refinement reads the prior."""
    from vaekit import ModelConfig
    from vaekit.training.vae_step import loss_fn
    x = torch.rand(4, 3, 8, 8)
    for prior in ({"name": "vamp", "components": 3}, "mog"):
        torch.manual_seed(0)
        config = ModelConfig(latent={"name": "gaussian", "dim": 4}, network=network,
                             inference=inference, prior=prior)
        vae = build_model(config, (3, 8, 8))
        loss, values, _ = loss_fn(vae, x, TrainConfig(model=vae.config), beta=1.0)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(values).all()
        assert all(p.grad is not None for p in vae.latent_prior.parameters())


def test_under_a_flow_posterior_the_components_are_qs_base_gaussians():
    """p(z) = (1/K) sum_k N(z; mu(u_k), sigma(u_k)^2): the encoder's first 2Z outputs at u_k (the
    flow's context left out), written out by hand; the flow's own q is not a component."""
    torch.manual_seed(0)
    latent = {"name": "gaussian", "dim": 3, "flow": "iaf", "flow_steps": 2, "flow_width": 4}
    config = tiny(prior={"name": "vamp", "components": 5})
    config.latent = latent
    vae = build_model(config, (6,)).double()
    z = torch.randn(7, 3, dtype=torch.float64)
    u = vae.latent_prior.raw.clamp(0, 1)
    mu, pre = vae.encoder(u)[:, :6].chunk(2, -1)
    sigma = torch.nn.functional.softplus(pre) + 1e-5
    t = (z.unsqueeze(-2) - mu) / sigma
    log_n = (-0.5 * t ** 2 - sigma.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    expected = torch.logsumexp(log_n, -1) - math.log(len(u))
    torch.testing.assert_close(vae.prior().log_prob(z), expected)
    assert vae.encoder(u).shape[-1] > 6                      # the context was there to leave out
