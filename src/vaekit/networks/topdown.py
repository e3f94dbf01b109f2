"""The networks of the deep top-down hierarchy (latents/topdown.py, Child 2021's VDVAE): a
bottom-up residual encoder that keeps its activation at every resolution, and the output head
that maps the top-down state to the likelihood's parameters.

    encoder  x [B, C, H, W] -(x - 1/2) * 2, conv3x3-> [B, W, H, W]; at each resolution r
             (finest first, networks/blocks.py): `blocks` residual blocks, keep a_r
             [B, W, h_r, w_r], average-pool to the next -> [B, W * sum_r h_r w_r]: the a_r
             flattened, coarsest first (the order in which the top-down path reads them)
    decoder  the top-down state [N, W * H * W] -> [N, W, H, W] -GELU, conv1x1-> [N, P, H, W]

With --stem-stride S > 1 the stem is a conv (kernel 2S, stride S) to [B, W, H/S, W/S] and the
head a transposed one from the state at H/S back to [N, P, H, W] (the conv network's last layer).

The width W is not a setting of its own: the latent family declares its code size W * sum_r
h_r w_r and its decoder input W * H * W, and the network reads W from them, so the two cannot
disagree. The top-down path's blocks, which are also p(z)'s, live in the latent family.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..registry import Spec, check
from ..settings import setting
from .blocks import Bottleneck, image_levels, middle, residual_scale, resize
from .shapes import ShapedNet


class BottomUp(nn.Module):
    """x [B, C, H, W] in [0, 1] -> the activations at every resolution, [B, W * sum h w]."""

    def __init__(self, channels: int, width: int, levels: list[tuple[int, int]], blocks: int,
                 stride: int = 1):
        super().__init__()
        self.levels = levels
        self.stem = nn.Conv2d(channels, width, 3, padding=1) if stride == 1 else \
            nn.Conv2d(channels, width, 2 * stride, stride, stride // 2)
        scale = residual_scale(blocks * len(levels))
        self.stages = nn.ModuleList(
            nn.Sequential(*[Bottleneck(width, middle(width), width, True, scale)
                            for _ in range(blocks)]) for _ in levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(2 * x - 1)                       # [B, W, H/S, W/S], inputs centred
        kept = []
        for size, stage in zip(self.levels, self.stages):
            h = stage(resize(h, size))                 # [B, W, h_r, w_r]
            kept.append(h.flatten(1))
        return torch.cat(kept[::-1], 1)                # coarsest first


def level_width(features: int, levels: list[tuple[int, int]], role: str) -> int:
    """W from the latent family's sizes: features = W * sum of the levels' h w."""
    area = sum(h * w for h, w in levels)
    check(features % area == 0, f"--network topdown's {role} works with --latent topdown "
                                f"(whole feature maps per resolution); got {features} features")
    return features // area


@dataclass
class TopDownNet(Spec):
    """The bottom-up encoder and output head of --latent topdown (its width is the latent's)."""
    name = "topdown"
    blocks: int = setting(1, "residual blocks at each resolution of the bottom-up encoder")
    stem_stride: int = setting(1, "the stem's stride and the output head's upsampling (the "
                                  "same option as the topdown latent's)", metavar="S")

    def validate(self) -> "TopDownNet":
        check(isinstance(self.blocks, int) and self.blocks >= 0,
              f"--blocks must be an integer >= 0; got {self.blocks!r}")
        check(isinstance(self.stem_stride, int) and self.stem_stride >= 1
              and self.stem_stride & (self.stem_stride - 1) == 0,
              f"--stem-stride must be 1, 2, 4, ... (a power of two); got {self.stem_stride!r}")
        return self

    def check_model(self, config) -> None:
        check(config.latent.name == "topdown", "--network topdown is the encoder and output "
                                               "head of --latent topdown; give both")

    def encoder(self, event_shape: tuple[int, ...], out_features: int) -> nn.Module:
        c, levels = image_levels(event_shape, "--network topdown", self.stem_stride)
        return BottomUp(c, level_width(out_features, levels, "encoder"), levels, self.blocks,
                        self.stem_stride)

    def decoder(self, in_features: int, out_shape: tuple[int, ...]) -> ShapedNet:
        s = self.stem_stride
        p, levels = image_levels(out_shape, "--network topdown", s)
        width = level_width(in_features, levels[:1], "decoder")
        h, w = levels[0]
        head = nn.Conv2d(width, p, 1) if s == 1 else nn.ConvTranspose2d(width, p, 2 * s, s, s // 2)
        return ShapedNet((in_features,), out_shape, nn.Unflatten(1, (width, h, w)), nn.GELU(),
                         head)
