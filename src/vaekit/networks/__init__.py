"""Networks: the encoder and decoder of a model, an axis independent of latents and likelihoods.

A network family is a registered spec (`NETWORKS`) with two builders:
- `encoder(event_shape, out_features)`: x [B, *event_shape] -> [B, out_features]
  (the latent family's parameters; a GAN's discriminator has out_features = 1);
- `decoder(in_features, out_shape)`: z [B, in_features] -> [B, *out_shape]
  (the likelihood's parameters, e.g. [2C, H, W] for a Gaussian with mean and variance).
A family that cannot take an example shape refuses it with a VaekitError naming the shape.
Your own modules go in as `Networks(encoder, decoder)` (see model.py); their runs record a
`Custom` spec, which cannot build anything: the modules are passed again to load the run.
Adding a family is a module here with its spec, and its line below.
"""

from ..registry import Registry
from .activations import ACTIVATIONS
from .custom import Custom, Networks
from .mlp import MLP, MLPNet, mlp

NETWORKS = Registry("network")
for _spec in (MLP, Custom):
    NETWORKS.register(_spec)

__all__ = ["ACTIVATIONS", "NETWORKS", "MLP", "MLPNet", "mlp", "Custom", "Networks"]
