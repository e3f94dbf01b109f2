"""The VAE's step (training/vae_step.py): each importance-weighted objective's loss is its
trained bound, and what it logs is named for the bound and its draws."""

import pytest
import torch

from vaekit import TrainConfig, build_model
from vaekit.training.vae_step import bound_names, loss_and_terms

from conftest import tiny


@pytest.mark.parametrize("settings, names", [
    ({"objective": "iwae", "k": 5}, ["train_iwae5"]),
    ({"objective": "iwae", "k": 5, "gradient": "dreg"}, ["train_iwae5"]),
    ({"objective": "miwae", "m": 3, "k": 4}, ["train_miwae3x4"]),
    ({"objective": "miwae", "m": 3, "k": 4, "gradient": "dreg"}, ["train_miwae3x4"]),
    ({"objective": "ciwae", "k": 4, "ciwae_beta": 0.3}, ["train_ciwae4"]),
    ({"objective": "piwae", "m": 3, "k": 4}, ["train_iwae12", "train_miwae3x4"]),
    ({"objective": "piwae", "m": 3, "k": 4, "gradient": "dreg"},
     ["train_iwae12", "train_miwae3x4"]),
])
def test_the_loss_is_the_trained_bound_and_the_logged_values_are_named(settings, names):
    config = TrainConfig(model=tiny(), **settings).validate()
    torch.manual_seed(0)
    model = build_model(config.model, (1, 8, 8))
    x = (torch.rand(6, 1, 8, 8) < 0.5).float()
    loss, values = loss_and_terms(model, x, model.encode(x), config, beta=1.0)
    assert bound_names(config) == names and values.shape == (6, len(names))
    assert torch.allclose(loss, -values[:, 0].mean())
    loss.backward()
    for net in (model.encoder, model.decoder):
        grads = [p.grad for p in net.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    if config.objective == "piwae":     # log mean of all m k weights >= mean of each set's
        assert (values[:, 0] >= values[:, 1] - 1e-5).all()
        assert (values[:, 0] > values[:, 1] + 1e-3).any()
