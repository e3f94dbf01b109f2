"""Shape arithmetic and layers shared by the convolutional families (conv.py, resnet.py).
Conv2d(4, 2, 1) maps a side s to floor(s / 2); ConvTranspose2d(4, 2, 1, output_padding o)
maps s to 2s + o, and o = (the encoder's size) - 2s retraces the encoder's sizes exactly
(28 -> 14 -> 7 -> 14 -> 28; 7 -> 3 -> 7). A `ShapedNet` folds leading dims into N and back.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import VaekitError
from ..registry import check
from .activations import ACTIVATIONS


def shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def image_shape(event_shape, network: str) -> tuple[int, int, int]:
    """(C, H, W), or a VaekitError for an example that is not an image."""
    check(len(event_shape) == 3, f"--network {network} needs images [C, H, W]; "
                                 f"got examples of shape {shape_str(event_shape)}")
    return tuple(int(s) for s in event_shape)


def down_sizes(size: int, layers: int) -> list[int]:
    """The side after each stride-2 conv: [size, floor(size/2), ...], layers + 1 entries."""
    sizes = [size]
    for _ in range(layers):
        sizes.append(sizes[-1] // 2)
    return sizes


def plan(event_shape, layers: int, network: str) -> tuple[int, list[int], list[int]]:
    """C and the sides through `layers` halvings; refuses images too small for them."""
    c, h, w = image_shape(event_shape, network)
    hs, ws = down_sizes(h, layers), down_sizes(w, layers)
    smallest = 2 ** layers
    check(hs[-1] >= 1 and ws[-1] >= 1,
          f"--network {network}: images {h}x{w} are too small for {layers} down-sampling "
          f"layers (one per --channels entry); they need at least {smallest}x{smallest}; "
          f"give fewer --channels")
    return c, hs, ws


def output_paddings(hs: list[int], ws: list[int]) -> list[tuple[int, int]]:
    """(o_h, o_w) of each up-sampling layer, coarsest first, so that 2s + o retraces hs, ws."""
    return [(hs[i] - 2 * hs[i + 1], ws[i] - 2 * ws[i + 1]) for i in reversed(range(len(hs) - 1))]


def down(c_in: int, c_out: int) -> nn.Conv2d:
    """[N, c_in, s, s'] -> [N, c_out, floor(s/2), floor(s'/2)]."""
    return nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)


def up(c_in: int, c_out: int, padding: tuple[int, int]) -> nn.ConvTranspose2d:
    """[N, c_in, s, s'] -> [N, c_out, 2s + o_h, 2s' + o_w]."""
    return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, output_padding=padding)


def to_image(in_features: int, c: int, h: int, w: int) -> list[nn.Module]:
    """The decoders' first layers: [N, in_features] -> [N, c * h * w] -> [N, c, h, w]."""
    return [nn.Linear(in_features, c * h * w), nn.Unflatten(1, (c, h, w))]


def from_image(c: int, h: int, w: int, out_features: int) -> list[nn.Module]:
    """The encoders' last layers: [N, c, h, w] -> [N, c * h * w] -> [N, out_features]."""
    return [nn.Flatten(), nn.Linear(c * h * w, out_features)]


def check_widths(channels, activation: str) -> None:
    check(activation in ACTIVATIONS,
          f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
    check(len(channels) >= 1 and all(isinstance(c, int) and c >= 1 for c in channels),
          f"--channels must be one or more widths >= 1; got {list(channels)}")


class ShapedNet(nn.Sequential):
    """Layers over [N, *in_shape] -> [N, *out_shape], with leading dims folded into N."""

    def __init__(self, in_shape: tuple[int, ...], out_shape: tuple[int, ...], *layers: nn.Module):
        super().__init__(*layers)
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = len(self.in_shape)
        if tuple(x.shape[x.dim() - k:]) != self.in_shape:
            raise VaekitError(f"this network takes [..., {shape_str(self.in_shape)[1:]}; "
                              f"got {shape_str(x.shape)}")
        lead = x.shape[:x.dim() - k]
        out = super().forward(x.reshape(-1, *self.in_shape))            # [N, *out_shape]
        out = out if out.dtype == x.dtype else out.to(x.dtype)          # bf16 autocast -> x's
        return out.reshape(*lead, *self.out_shape)
