"""Networks: the encoder and decoder of a model, an axis independent of latents and likelihoods.

A network family is a registered spec (`NETWORKS`) with two builders:
- `encoder(event_shape, out_features)`: x [B, *event_shape] -> [B, out_features]
  (the latent family's parameters; a GAN's discriminator has out_features = 1);
- `decoder(in_features, out_shape)`: z [B, in_features] -> [B, *out_shape]
  (the likelihood's parameters, e.g. [2C, H, W] for a Gaussian with mean and variance).
Families: `mlp` (any shape; the images are flattened), `conv` (strided convolutions down,
transposed convolutions up) and `resnet` (residual blocks), the last two for images [C, H, W].
A family that cannot take an example shape refuses it with a VaekitError naming the shape.
Your own modules go in as `Networks(encoder, decoder)` (custom.py); their runs record a
`Custom` spec, which cannot build anything: the modules are passed again to load the run.
Adding a family is a module here with its spec, and its line below.
"""

from ..registry import Registry
from .activations import ACTIVATIONS
from .build import build_networks
from .conv import Conv
from .custom import Custom, Networks
from .mlp import MLP, MLPNet, mlp
from .resnet import ResidualBlock, ResNet

NETWORKS = Registry("network")
for _spec in (MLP, Conv, ResNet, Custom):
    NETWORKS.register(_spec)

__all__ = ["ACTIVATIONS", "NETWORKS", "MLP", "MLPNet", "mlp", "Conv", "ResNet", "ResidualBlock",
           "Custom", "Networks", "build_networks"]
