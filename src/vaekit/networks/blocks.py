"""The pieces a deep top-down hierarchy shares between its bottom-up encoder (networks/topdown.py)
and its top-down path (latents/topdown.py): the resolutions it works at and its residual block.

Resolutions, finest first: the image's side (divided by the stem's stride S) halved while it
stays even and at least 4, then 1x1 (VDVAE's 32 -> 16 -> 8 -> 4 -> 1 on CIFAR-10; 28 -> 14 -> 7
-> 1 on MNIST, 14 -> 7 -> 1 with S = 2; 8 -> 4 -> 1 on the digits). A 1x1 top gives the
hierarchy a global group that sees the whole image at once. With S > 1 the encoder's stem and
the output head change the resolution (NVAE's pre- and post-processing cells): the groups and
blocks, where the cost is, then work on S^2 times fewer positions.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import check

# how the 1x1 level meets the one below it (--top): Spread / Gather, or resize
TOPS = ("dense", "pooled")


def resolutions(height: int, width: int) -> list[tuple[int, int]]:
    """(h, w) of each level, finest (the image's) first, ending at (1, 1)."""
    sizes = [(height, width)]
    while all(s % 2 == 0 and s // 2 >= 4 for s in sizes[-1]):
        sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
    if sizes[-1] != (1, 1):
        sizes.append((1, 1))
    return sizes


def image_levels(event_shape, what: str, stride: int = 1) -> tuple[int, list[tuple[int, int]]]:
    """(C, the resolutions) of images [C, H, W] behind a stem of `stride`; one clear line for
    other examples."""
    check(len(event_shape) == 3, f"{what} needs images [C, H, W]; got examples of shape "
                                 f"{list(event_shape)}")
    c, height, width = (int(v) for v in event_shape)
    check(height % stride == 0 and width % stride == 0,
          f"{what}: --stem-stride {stride} does not divide the images' {height}x{width}")
    return c, resolutions(height // stride, width // stride)


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """[N, C, h, w] -> [N, C, *size]: average pooling down (28 -> 14, 7 -> 1), nearest up."""
    h, w = x.shape[-2:]
    if (h, w) == tuple(size):
        return x
    if tuple(size) == (1, 1):
        return x.mean((-2, -1), keepdim=True)        # adaptive pooling is slow on CPUs
    if (h, w) == (2 * size[0], 2 * size[1]):
        return F.avg_pool2d(x, 2)
    if size[0] <= h:
        return F.adaptive_avg_pool2d(x, size)
    return F.interpolate(x, size=size, mode="nearest")


class Bottleneck(nn.Module):
    """[N, c_in, h, w] -> [N, c_out, h, w]: GELU, 1x1 to `mid`, GELU, 3x3, GELU, 1x1 to c_out
    (VDVAE's block, one 3x3 fewer for 2 CPU cores); with `residual`, x + that (c_in = c_out).

    `out_scale` multiplies the last convolution's initial weights: 1/sqrt(number of residual
    blocks) for the residual blocks, so that at initialization the variance the branches add
    to the stream stays O(1) however deep the stack is (VDVAE; without it the top-down state
    and the KL of the lower groups start orders of magnitude too large, and the first updates
    have huge gradients); 0 for a head whose output should start at a chosen value (a prior
    that starts as N(0, I))."""

    def __init__(self, c_in: int, mid: int, c_out: int, residual: bool = False,
                 out_scale: float = 1.0):
        super().__init__()
        self.residual = residual
        self.branch = nn.Sequential(nn.GELU(), nn.Conv2d(c_in, mid, 1), nn.GELU(),
                                    nn.Conv2d(mid, mid, 3, padding=1), nn.GELU(),
                                    nn.Conv2d(mid, c_out, 1))
        with torch.no_grad():
            self.branch[-1].weight.mul_(out_scale)
            if out_scale == 0 or residual:
                self.branch[-1].bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        return x + out if self.residual else out


def residual_scale(n_blocks: int) -> float:
    """The residual branches' initial output scale for a stack of n blocks (see Bottleneck)."""
    return 1.0 / math.sqrt(max(1, n_blocks))


def middle(width: int) -> int:
    """A bottleneck's inner width: a quarter of the stream's, as VDVAE (at least 4)."""
    return max(4, width // 4)


class Spread(nn.Module):
    """[N, W, 1, 1] -> [N, W, h, w] by a learned linear map (`--top dense`): the top-down state
    at 1x1 laid out over the level below it, as the conv VAE's linear layer lays z out over
    its 7x7 map. Repetition (VDVAE's nearest upsampling) gives every position the same
    vector, so the global group could not say where anything is."""

    def __init__(self, width: int, size: tuple[int, int]):
        super().__init__()
        self.size = tuple(size)
        self.linear = nn.Linear(width, width * size[0] * size[1])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h.flatten(1)).unflatten(1, (-1, *self.size))


class Gather(nn.Module):
    """[N, W, h, w] -> [N, W, 1, 1] by a learned linear map (`--top dense`): the encoder's
    activation at 1x1 reads every position, as the conv VAE's linear layer reads its 7x7
    map, where averaging keeps only which features occur, not where."""

    def __init__(self, width: int, size: tuple[int, int]):
        super().__init__()
        self.linear = nn.Linear(width * size[0] * size[1], width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h.flatten(1))[:, :, None, None]
