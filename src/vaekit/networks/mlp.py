"""Multi-layer perceptrons (the lecture's networks): flatten the example, linear layers, reshape.
The default sizes are Burda, Grosse and Salakhutdinov's (2015), one stochastic layer:
encoder 784-200-200-(2 x 50), decoder 50-200-200-784, tanh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..registry import Spec, check
from ..settings import setting
from .activations import ACTIVATIONS


class MLPNet(nn.Sequential):
    """Linear layers with an activation between; [..., *in_shape] -> [..., *out_shape]."""

    def __init__(self, in_shape: tuple[int, ...], hidden: tuple[int, ...],
                 out_shape: tuple[int, ...], activation: str = "tanh"):
        layers: list[nn.Module] = []
        width = math.prod(in_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            width = h
        layers.append(nn.Linear(width, math.prod(out_shape)))
        super().__init__(*layers)
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.flat_in, self.shaped_out = len(in_shape) > 1, len(out_shape) > 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flat_in:
            x = x.flatten(-len(self.in_shape))
        out = super().forward(x)
        out = out if out.dtype == x.dtype else out.to(x.dtype)   # bf16 autocast -> x's dtype
        return out.unflatten(-1, self.out_shape) if self.shaped_out else out


def mlp(in_features: int, hidden: tuple[int, ...], out_features: int,
        activation: str = "tanh") -> MLPNet:
    """[..., in_features] -> [..., out_features] (the latent-space networks of hierarchies)."""
    return MLPNet((in_features,), hidden, (out_features,), activation)


@dataclass
class MLP(Spec):
    name = "mlp"
    encoder_hidden: tuple[int, ...] = setting((200, 200), "encoder hidden sizes",
                                              metavar="H1,H2,...")
    decoder_hidden: tuple[int, ...] = setting((200, 200), "decoder hidden sizes",
                                              metavar="H1,H2,...")
    activation: str = setting("tanh", "activation")

    def validate(self) -> "MLP":
        check(self.activation in ACTIVATIONS,
              f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}")
        check(all(h >= 1 for h in self.encoder_hidden + self.decoder_hidden),
              "hidden layer sizes must be >= 1")
        return self

    def encoder(self, event_shape: tuple[int, ...], out_features: int) -> MLPNet:
        return MLPNet(event_shape, self.encoder_hidden, (out_features,), self.activation)

    def decoder(self, in_features: int, out_shape: tuple[int, ...]) -> MLPNet:
        return MLPNet((in_features,), self.decoder_hidden, out_shape, self.activation)
