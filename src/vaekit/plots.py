"""Pictures: grids of images [N, C, H, W] in [0, 1] (C = 1 grey, 3 colour), written as PNG with
Pillow, and the categorical latents' traversal."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch

from . import devices


def tile(images: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """[N, C, H, W] -> one [C, rows*(H+pad)+pad, ncol*(W+pad)+pad] picture on a grey ground."""
    n, c, h, w = images.shape
    nrow = -(-n // ncol)
    out = np.full((c, nrow * (h + pad) + pad, ncol * (w + pad) + pad), 0.5, dtype=np.float32)
    for i, img in enumerate(images):
        r, col = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + col * (w + pad)
        out[:, top:top + h, left:left + w] = img
    return out


def grid_pixels(arr: np.ndarray, ncol: int = 8, min_pixels: int = 64) -> np.ndarray:
    """Images [N, C, H, W] in [0, 1] as one uint8 grid [C, H', W'] on a grey ground."""
    if arr.ndim != 4 or arr.shape[1] not in (1, 3):
        raise ValueError(f"a grid takes images [N, C, H, W] with C = 1 or 3, got {arr.shape}")
    scale = max(1, -(-min_pixels // max(arr.shape[-2:])))
    grid = tile(arr, ncol).repeat(scale, axis=1).repeat(scale, axis=2)
    return np.round(np.clip(grid, 0.0, 1.0) * 255).astype(np.uint8)


def save_grid(images: torch.Tensor | np.ndarray, path: str | Path, ncol: int = 8,
              min_pixels: int = 64) -> Path:
    """Save images [N, C, H, W] in [0, 1] as a grid PNG (grey or RGB), small ones enlarged."""
    from PIL import Image
    arr = np.asarray(images.detach().cpu() if torch.is_tensor(images) else images,
                     dtype=np.float32)
    pixels = grid_pixels(arr, ncol, min_pixels).transpose(1, 2, 0)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(path)
    return path


def first_free(folder: str | Path, stem: str, suffix: str = ".png") -> Path:
    """folder/stem-NNN.png with the first free number, created at once so no other call takes it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i in itertools.count(1):
        path = folder / f"{stem}-{i:03d}{suffix}"
        try:
            path.open("x").close()
            return path
        except FileExistsError:
            continue


def rgb(images: torch.Tensor) -> torch.Tensor:
    """[N, 1 or 3, H, W] -> [N, 3, H, W]: grey repeated into the three channels."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


MARKER = torch.tensor([1.0, 0.0, 0.0])       # red: no grey pixel is red


def mark_missing(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Images x [N, C, H, W] as RGB with the missing values (mask True) painted red on grey
    images, a magenta and green checkerboard on colour ones (no photo's red is mistaken for it)."""
    n, c, h, w = x.shape
    if c == 1:
        paint = MARKER.view(1, 3, 1, 1).expand(n, 3, h, w)
    else:
        check = ((torch.arange(h).view(h, 1) + torch.arange(w)) % 2).bool()       # [H, W]
        paint = torch.where(check, torch.tensor([1.0, 0.0, 1.0]).view(3, 1, 1),
                            torch.tensor([0.0, 1.0, 0.0]).view(3, 1, 1)).expand(n, 3, h, w)
    missing = mask.any(1, keepdim=True)                          # a pixel: all channels or none
    return torch.where(missing, paint.to(x.dtype), rgb(x))


def spread(total: int, n: int) -> torch.Tensor:
    """n indices spread evenly over 0..total-1: pictures show a split's range, not its start."""
    return torch.linspace(0, total - 1, min(n, total)).round().long()


def interleave_rows(top: torch.Tensor, bottom: torch.Tensor, ncol: int) -> torch.Tensor:
    """Rows of `top` followed by the matching rows of `bottom`: originals over reconstructions."""
    rows = []
    for i in range(0, len(top), ncol):
        rows += [top[i:i + ncol], bottom[i:i + ncol]]
    return torch.cat(rows)


@torch.no_grad()
def class_samples(model, ncol: int = 8) -> torch.Tensor:
    """p(x | y, z): a row per class y, the same z down each column: [K * ncol, *event]."""
    v = model.latent.class_grid(ncol)                                            # [K*ncol, Z]
    return model.likelihood.mean_image(model.observation(v)).cpu()


@torch.no_grad()
def reconstructions(model, splits, n: int = 32, ncol: int = 8) -> torch.Tensor:
    """Test images spread over the split, rows of originals over reconstructions: [2n, *event]."""
    rows = spread(len(splits.test), n)
    shown = torch.from_numpy(splits.dataset.unit(splits.dataset.test[rows.numpy()]))
    device = devices.of(model)
    return interleave_rows(shown, model.reconstruct(splits.test[rows].to(device)).cpu(), ncol)


@torch.no_grad()
def traversal_images(model, x: torch.Tensor, n_vars: int = 10) -> torch.Tensor:
    """Categorical latents: from the mode of q(z|x) for one image x [*event], row i sets
    variable i to each of the K classes in turn and decodes: [n_vars * K, *event]."""
    lat = model.latent
    n_vars = min(n_vars, lat.n_vars)
    q = model.posterior(x.unsqueeze(0).to(devices.of(model)))
    mode = torch.nn.functional.one_hot(q.logits.argmax(-1), lat.n_classes).float()   # [1, N, K]
    z = mode.repeat(n_vars * lat.n_classes, 1, 1)                                      # [n*K, N, K]
    for i in range(n_vars):
        rows = slice(i * lat.n_classes, (i + 1) * lat.n_classes)
        z[rows, i] = torch.eye(lat.n_classes, device=z.device)
    return model.likelihood.mean_image(model.observation(z.flatten(-2))).cpu()
