"""The MLP (networks/mlp.py): the default architecture is Burda et al.'s one-layer model."""

import torch

from vaekit import build_model, ModelConfig


def test_default_architecture_is_burda_one_layer():
    vae = build_model(ModelConfig(), (1, 28, 28))
    widths = [(m.in_features, m.out_features) for m in vae.encoder if hasattr(m, "in_features")]
    assert widths == [(784, 200), (200, 200), (200, 100)]            # 50 mu + 50 sigma
    widths = [(m.in_features, m.out_features) for m in vae.decoder if hasattr(m, "in_features")]
    assert widths == [(50, 200), (200, 200), (200, 784)]
    assert isinstance(vae.encoder[1], torch.nn.Tanh)
