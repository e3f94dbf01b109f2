"""The networks of the deep top-down hierarchy (latents/topdown.py, Child 2021's VDVAE): a
bottom-up residual encoder that keeps its activation at every resolution, and the output head
that maps the top-down state to the likelihood's parameters.

    encoder  x [B, C, H, W] -(x - 1/2) * 2, the stem-> [B, W, H/S, W/S]; at each resolution r
             (finest first, networks/blocks.py): `blocks` residual blocks, keep a_r
             [B, W, h_r, w_r], go to the next (average pooling; to 1x1 with --top dense a
             learned linear map of every position, blocks.Gather) -> [B, W * sum_r h_r w_r]:
             the a_r flattened, coarsest first (the order in which the top-down path reads them)
    decoder  the top-down state [N, W * h * w] -> [N, W, h, w] -GELU, the head-> [N, P, H, W]

The stem: a 3x3 conv (S = 1); with --stem staged, log2 S convolutions of kernel 4 and stride 2
with GELU between (28 -> 14 -> 7: the conv network's shape); with --stem single, one of kernel
2S and stride S. The head mirrors it with transposed convolutions (a 1x1 conv when S = 1).

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
from .blocks import TOPS, Bottleneck, Gather, image_levels, middle, residual_scale, resize
from .shapes import ShapedNet


STEMS = ("staged", "single")


class BottomUp(nn.Module):
    """x [B, C, H, W] in [0, 1] -> the activations at every resolution, [B, W * sum h w]."""

    def __init__(self, channels: int, width: int, levels: list[tuple[int, int]], blocks: int,
                 stride: int = 1, top: str = "dense", stem: str = "staged"):
        super().__init__()
        self.levels = levels
        self.stem = stem_layers(channels, width, stride, stem)
        # the 1x1 activation read from every position of the level below it, or their mean
        self.gather = Gather(width, levels[-2]) if top == "dense" and len(levels) > 1 else None
        scale = residual_scale(blocks * len(levels))
        self.stages = nn.ModuleList(
            nn.Sequential(*[Bottleneck(width, middle(width), width, True, scale)
                            for _ in range(blocks)]) for _ in levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(2 * x - 1)                       # [B, W, H/S, W/S], inputs centred
        kept = []
        for r, (size, stage) in enumerate(zip(self.levels, self.stages)):
            last = r == len(self.levels) - 1 and self.gather is not None
            h = stage(self.gather(h) if last else resize(h, size))   # [B, W, h_r, w_r]
            kept.append(h.flatten(1))
        return torch.cat(kept[::-1], 1)                # coarsest first


def stem_layers(channels: int, width: int, stride: int, stem: str) -> nn.Module:
    """The encoder's first layers, [B, C, H, W] -> [B, W, H/S, W/S]: a 3x3 conv (S = 1); one
    conv of kernel 2S and stride S (single); log2 S convs of kernel 4 and stride 2 with GELU
    between (staged: the conv network's shape, a nonlinearity at each intermediate size)."""
    if stride == 1:
        return nn.Conv2d(channels, width, 3, padding=1)
    if stem == "single":
        return nn.Conv2d(channels, width, 2 * stride, stride, stride // 2)
    layers = [nn.Conv2d(channels, width, 4, 2, 1)]
    for _ in range(stride.bit_length() - 2):
        layers += [nn.GELU(), nn.Conv2d(width, width, 4, 2, 1)]
    return nn.Sequential(*layers)


def head_layers(width: int, out: int, stride: int, stem: str) -> list[nn.Module]:
    """The output head after the state's GELU, [N, W, h, w] -> [N, P, S h, S w]: the mirror of
    `stem_layers` (a 1x1 conv when S = 1)."""
    if stride == 1:
        return [nn.Conv2d(width, out, 1)]
    if stem == "single":
        return [nn.ConvTranspose2d(width, out, 2 * stride, stride, stride // 2)]
    layers = []
    for _ in range(stride.bit_length() - 2):
        layers += [nn.ConvTranspose2d(width, width, 4, 2, 1), nn.GELU()]
    return layers + [nn.ConvTranspose2d(width, out, 4, 2, 1)]


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
    stem_stride: int = setting(4, "the stem's stride and the output head's upsampling (the "
                                  "same option as the topdown latent's)", metavar="S")
    top: str = setting("dense", "the encoder's 1x1 activation: a learned linear map of the level "
                                "below (dense) or its mean (pooled); the same option as the "
                                "topdown latent's", choices=TOPS)
    stem: str = setting("staged", "with --stem-stride S > 1: log2 S stride-2 convolutions with "
                                  "GELU between, and the head likewise (staged), or one of "
                                  "kernel 2S (single)", choices=STEMS)

    def validate(self) -> "TopDownNet":
        check(isinstance(self.blocks, int) and self.blocks >= 0,
              f"--blocks must be an integer >= 0; got {self.blocks!r}")
        check(isinstance(self.stem_stride, int) and self.stem_stride >= 1
              and self.stem_stride & (self.stem_stride - 1) == 0,
              f"--stem-stride must be 1, 2, 4, ... (a power of two); got {self.stem_stride!r}")
        check(self.top in TOPS, f"--top must be one of {list(TOPS)}; got {self.top!r}")
        check(self.stem in STEMS, f"--stem must be one of {list(STEMS)}; got {self.stem!r}")
        return self

    def check_model(self, config) -> None:
        check(config.latent.name == "topdown", "--network topdown is the encoder and output "
                                               "head of --latent topdown; give both")

    def encoder(self, event_shape: tuple[int, ...], out_features: int) -> nn.Module:
        c, levels = image_levels(event_shape, "--network topdown", self.stem_stride)
        return BottomUp(c, level_width(out_features, levels, "encoder"), levels, self.blocks,
                        self.stem_stride, self.top, self.stem)

    def decoder(self, in_features: int, out_shape: tuple[int, ...]) -> ShapedNet:
        s = self.stem_stride
        p, levels = image_levels(out_shape, "--network topdown", s)
        width = level_width(in_features, levels[:1], "decoder")
        h, w = levels[0]
        return ShapedNet((in_features,), out_shape, nn.Unflatten(1, (width, h, w)), nn.GELU(),
                         *head_layers(width, p, s, self.stem))
