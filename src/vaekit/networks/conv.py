"""Convolutional encoder and decoder, DCGAN-like (Radford, Metz and Chintala, 2015).

With channels (c_1, ..., c_n) and images [C, H, W] (h, w: H, W halved n times, rounding down):
    encoder  [B, C, H, W] -conv-> [B, c_1, H/2, W/2] -> ... -conv-> [B, c_n, h, w]
             -flatten-> [B, c_n h w] -linear-> [B, out_features]
    decoder  [B, in] -linear-> [B, c_n h w] -> [B, c_n, h, w] -convT-> ... -convT-> [B, P, H, W]
each conv Conv2d(4, stride 2, padding 1) and each convT its transpose (output_padding: odd
sizes work, shapes.py), an activation after every layer but the last.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from ..registry import Spec
from ..settings import setting
from .activations import after_layer
from .shapes import ShapedNet, check_widths, down, from_image, output_paddings, plan, to_image, up


@dataclass
class Conv(Spec):
    """Strided convolutions down, transposed convolutions up, one per `channels` entry."""
    name = "conv"
    channels: tuple[int, ...] = setting((32, 64), "widths, one per halving of the image",
                                        metavar="C1,C2,...")
    activation: str = setting("leaky_relu", "activation")

    def validate(self) -> "Conv":
        check_widths(self.channels, self.activation)
        return self

    def encoder(self, event_shape: tuple[int, ...], out_features: int) -> ShapedNet:
        c, hs, ws = plan(event_shape, len(self.channels), self.name)
        act = partial(after_layer, self.activation)
        layers, width = [], c
        for c_out in self.channels:                 # [N, width, s, s'] -> [N, c_out, s/2, s'/2]
            layers += [down(width, c_out), act()]
            width = c_out
        layers += from_image(width, hs[-1], ws[-1], out_features)        # -> [N, out_features]
        return ShapedNet(event_shape, (out_features,), *layers)

    def decoder(self, in_features: int, out_shape: tuple[int, ...]) -> ShapedNet:
        p, hs, ws = plan(out_shape, len(self.channels), self.name)
        act = partial(after_layer, self.activation)
        widths = list(reversed(self.channels)) + [p]                     # c_n, ..., c_1, P
        layers = to_image(in_features, widths[0], hs[-1], ws[-1]) + [act()]  # [N, c_n, h, w]
        for i, padding in enumerate(output_paddings(hs, ws)):    # [N, c, s, s'] -> 2s+o, 2s'+o'
            layers.append(up(widths[i], widths[i + 1], padding))
            if i + 1 < len(self.channels):                               # none after the last
                layers.append(act())
        return ShapedNet((in_features,), out_shape, *layers)             # -> [N, P, H, W]
