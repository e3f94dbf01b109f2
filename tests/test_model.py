"""The model (model.py): the distributions it returns and their shapes. (Its parts: the
likelihoods in likelihoods/, the latent families in latents/, the networks in networks/.)
`posterior` and `reconstruct` refuse x outside [0, 1], the scale training uses."""

import pytest
import torch
from torch.distributions import Independent

from vaekit import build_model, ModelConfig
from vaekit.errors import VaekitError


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


@pytest.mark.parametrize("likelihood, shape", [("gaussian", (3, 4, 4)), ("bernoulli", (16,)),
                                               ("dlogistic-mix", (1, 4, 4))])
def test_posterior_and_reconstruct_refuse_x_outside_0_1(likelihood, shape):
    vae = build_model(ModelConfig(latent={"name": "gaussian", "dim": 2}, likelihood=likelihood),
                      shape)
    x = torch.rand(2, *shape)
    vae.posterior(x), vae.reconstruct(x)                       # in [0, 1]: fine
    signed = x.clone()
    signed.view(-1)[0] = -1.0                                  # as from images in [-1, 1]
    for call in (vae.posterior, vae.reconstruct):
        with pytest.raises(VaekitError, match=r"^x should be in \[0, 1\] \(got max 255\.0\): "
                                              r"divide 8-bit images by 255$"):
            call(torch.full((2, *shape), 255.0))
        with pytest.raises(VaekitError, match=r"got min -1\.0"):
            call(signed)


def test_a_gaussian_over_vectors_takes_any_real_x():
    vae = build_model(ModelConfig(likelihood="gaussian"), (6,))       # linear_gaussian.py's case
    assert vae.posterior(torch.randn(4, 6) * 10).batch_shape == (4,)
