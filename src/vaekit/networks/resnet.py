"""Residual encoder and decoder: the conv family's stages with residual blocks between them.

A block keeps the shape: x -> x + conv3x3(act(conv3x3(act(x)))) (pre-activation, He et al.
2016). With channels (c_1, ..., c_n) and `blocks` blocks per stage:
    encoder  [B, C, H, W] -stem conv3x3-> [B, c_1, H, W], each stage: blocks, act,
             Conv2d(4, 2, 1) -> ... [B, c_n, h, w] -act, flatten, linear-> [B, out_features]
    decoder  [B, in] -linear-> [B, c_n, h, w], each stage from n down: act,
             ConvTranspose2d(4, 2, 1), blocks -> [B, c_1, H, W] -act, conv3x3-> [B, P, H, W]
Every convolution after the stem sees an activated input, so with blocks = 0 the sampling
convolutions do not collapse into one linear map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..registry import Spec, check
from ..settings import setting
from .activations import ACTIVATIONS
from .shapes import ShapedNet, check_widths, down, from_image, output_paddings, plan, to_image, up

# the residual branch's last conv starts at this fraction of PyTorch's default initialisation
BRANCH_SCALE = 0.1


class ResidualBlock(nn.Module):
    """[N, c, s, s'] -> [N, c, s, s']: x + conv2(act(conv1(act(x))))."""

    def __init__(self, width: int, activation: str):
        super().__init__()
        self.act1, self.act2 = ACTIVATIONS[activation](), ACTIVATIONS[activation]()
        self.conv1 = nn.Conv2d(width, width, 3, padding=1)
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        # The block starts close to identity: a small residual branch keeps the signal's
        # scale from growing with the number of blocks, so a deep stack starts as the plain
        # down/up-sampling network and learns corrections. Small rather than zero, so that
        # conv1 gets a gradient from the first step (a zero conv2 passes none back to it).
        with torch.no_grad():
            self.conv2.weight.mul_(BRANCH_SCALE)
            self.conv2.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act2(self.conv1(self.act1(x))))


@dataclass
class ResNet(Spec):
    """Residual blocks at each resolution, stride-2 convolutions between resolutions."""
    name = "resnet"
    channels: tuple[int, ...] = setting((32, 64), "widths, one per halving of the image",
                                        metavar="C1,C2,...")
    blocks: int = setting(1, "residual blocks per stage")
    activation: str = setting("leaky_relu", "activation")

    def validate(self) -> "ResNet":
        check_widths(self.channels, self.activation)
        check(isinstance(self.blocks, int) and self.blocks >= 0,
              f"--blocks must be an integer >= 0; got {self.blocks!r}")
        return self

    def _stage(self, width: int) -> list[nn.Module]:
        return [ResidualBlock(width, self.activation) for _ in range(self.blocks)]

    def encoder(self, event_shape: tuple[int, ...], out_features: int) -> ShapedNet:
        c, hs, ws = plan(event_shape, len(self.channels), self.name)
        act, widths = ACTIVATIONS[self.activation], list(self.channels)
        layers = [nn.Conv2d(c, widths[0], 3, padding=1)]                 # [N, c_1, H, W]
        for width, c_out in zip(widths, widths[1:] + widths[-1:]):   # c_i -> c_i+1 (c_n -> c_n)
            layers += self._stage(width) + [act(), down(width, c_out)]  # -> [N, c_out, s/2, s'/2]
        layers += [act()] + from_image(widths[-1], hs[-1], ws[-1], out_features)
        return ShapedNet(event_shape, (out_features,), *layers)          # -> [N, out_features]

    def decoder(self, in_features: int, out_shape: tuple[int, ...]) -> ShapedNet:
        p, hs, ws = plan(out_shape, len(self.channels), self.name)
        act, widths = ACTIVATIONS[self.activation], list(reversed(self.channels))  # c_n..c_1
        layers = to_image(in_features, widths[0], hs[-1], ws[-1])       # [N, c_n, h, w]
        # stage i mirrors the encoder's: up to its resolution and width c_i, then its blocks
        ins = widths[:1] + widths[:-1]                                   # c_n, c_n, ..., c_2
        for c_in, width, padding in zip(ins, widths, output_paddings(hs, ws)):
            layers += [act(), up(c_in, width, padding)]          # -> [N, c_i, 2s + o, 2s' + o']
            layers += self._stage(width)
        layers += [act(), nn.Conv2d(widths[-1], p, 3, padding=1)]        # -> [N, P, H, W]
        return ShapedNet((in_features,), out_shape, *layers)
