"""The model (model.py): the distributions it returns and their shapes. (Its parts: the
likelihoods in likelihoods/, the latent families in latents/, the networks in networks/.)"""

import torch
from torch.distributions import Independent

from vaekit import build_model, ModelConfig


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
