"""Multi-layer perceptrons: the encoder and decoder networks.

The default sizes are Burda, Grosse and Salakhutdinov (2015), one stochastic layer:
encoder 784-200-200-(2 x 50), decoder 50-200-200-784, tanh.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "softplus": nn.Softplus,
               "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}


class MLP(nn.Sequential):
    """An nn.Sequential whose output has its input's dtype even under bfloat16 autocast
    (training with precision "bfloat16"), so that distributions, log-densities and their sums
    over pixels are computed in float32 (or float64 in the tests' closed-form checks)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        return out if out.dtype == x.dtype else out.to(x.dtype)


def mlp(in_features: int, hidden: tuple[int, ...], out_features: int,
        activation: str = "tanh") -> MLP:
    """Linear layers of the given widths with `activation` between them, none after the last.

    Works on any leading shape: [..., in_features] -> [..., out_features].
    """
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, out_features))
    return MLP(*layers)
