"""Multi-layer perceptrons: the encoder and decoder networks.

The default sizes are Burda, Grosse and Salakhutdinov (2015), one stochastic layer:
encoder 784-200-200-(2 x 50), decoder 50-200-200-784, tanh.
"""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus,
               "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}


def mlp(in_features: int, hidden: tuple[int, ...], out_features: int,
        activation: str = "tanh") -> nn.Sequential:
    """Linear layers of the given widths with `activation` between them, none after the last.

    Works on any leading shape: [..., in_features] -> [..., out_features].
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)
