"""Networks: the encoder and decoder of a model, an axis independent of latents and likelihoods.
A network family is a registered spec (`NETWORKS`) with two builders, `encoder(event_shape,
out_features)` and `decoder(in_features, out_shape)`: `mlp` (any shape), `conv` and `resnet`
(images [C, H, W]). Your own modules go in as `Networks(encoder, decoder)` (custom.py).
"""

from ..registry import Registry
from .activations import ACTIVATIONS
from .build import build_networks
from .conv import Conv
from .custom import Custom, Networks
from .mlp import MLP, MLPNet, mlp
from .resnet import ResidualBlock, ResNet
from .topdown import TopDownNet

NETWORKS = Registry("network")
for _spec in (MLP, Conv, ResNet, TopDownNet, Custom):
    NETWORKS.register(_spec)

__all__ = ["ACTIVATIONS", "NETWORKS", "MLP", "MLPNet", "mlp", "Conv", "ResNet", "ResidualBlock",
           "TopDownNet", "Custom", "Networks", "build_networks"]
