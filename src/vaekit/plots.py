"""Pictures: grids of images [N, C, H, W] in [0, 1] (C = 1 grey, 3 colour), written as PNG with
Pillow, each with a legend under it that says what it shows (the mean of p(x|z), a draw or
its mode: likelihoods/base.py) and, where rows differ in kind, a name at each row's left; and
the pictures a run draws: samples, reconstructions, M2's classes, the categorical traversal."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import devices
from .errors import VaekitError


@dataclass
class Picture:
    """A grid of images [N, *event] in [0, 1]; `legend`: what they show (under the grid);
    `rows`: a name at the left of each row of `ncol` images (None: no names)."""
    images: torch.Tensor
    legend: str | None = None
    rows: list[str] | None = None
    ncol: int = 8


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


def grid_image(images: torch.Tensor | np.ndarray, ncol: int = 8, min_pixels: int = 64,
               legend: str | None = None, rows: list[str] | None = None):
    """Images [N, C, H, W] in [0, 1] as a Pillow image of their grid (grey or RGB), small ones
    enlarged, with `rows` named at the left and the `legend` under it."""
    from PIL import Image
    arr = np.asarray(images.detach().cpu() if torch.is_tensor(images) else images,
                     dtype=np.float32)
    pixels = grid_pixels(arr, ncol, min_pixels).transpose(1, 2, 0)
    grid = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    return annotated(grid, legend, rows) if legend or rows else grid


def annotated(grid, legend: str | None, rows: list[str] | None):
    """`grid` (a Pillow image) on a white ground: each of `rows` written at the left of its
    row (the grid's height divided evenly), the legend wrapped to the width below it."""
    from PIL import Image, ImageDraw, ImageFont
    font, ink = ImageFont.load_default(), 0 if grid.mode == "L" else (0, 0, 0)
    draw = ImageDraw.Draw(grid)
    margin = 8 + int(max(draw.textlength(r, font=font) for r in rows)) if rows else 0
    width = grid.width + margin
    lines = wrap(legend, font, draw, width - 8) if legend else []
    line = draw.textbbox((0, 0), "Mp(|", font=font)[3] + 3
    out = Image.new(grid.mode, (width, grid.height + (len(lines) * line + 6 if lines else 0)),
                    255 if grid.mode == "L" else (255, 255, 255))
    out.paste(grid, (margin, 0))
    draw = ImageDraw.Draw(out)
    for i, name in enumerate(rows or []):
        top, bottom = draw.textbbox((0, 0), name, font=font)[1::2]
        middle = (i + 0.5) * grid.height / len(rows)
        draw.text((4, int(middle - (top + bottom) / 2)), name, fill=ink, font=font)
    for i, text in enumerate(lines):
        draw.text((4, grid.height + 3 + i * line), text, fill=ink, font=font)
    return out


def wrap(text: str, font, draw, width: float) -> list[str]:
    """`text` in lines no wider than `width` pixels (a longer word alone on its line)."""
    lines: list[str] = []
    for word in text.split():
        if lines and draw.textlength(f"{lines[-1]} {word}", font=font) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return lines


def save_grid(images: torch.Tensor | np.ndarray, path: str | Path, ncol: int = 8,
              min_pixels: int = 64, legend: str | None = None,
              rows: list[str] | None = None) -> Path:
    """Save images [N, C, H, W] in [0, 1] as a grid PNG (grey or RGB), small ones enlarged;
    the legend (under the grid, and the PNG's Description) says what they show, `rows` name
    each row at its left (and in the PNG's Rows text, one per line)."""
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    if legend:
        info.add_text("Description", legend)
    if rows:
        info.add_text("Rows", "\n".join(rows))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid_image(images, ncol, min_pixels, legend, rows).save(path, pnginfo=info)
    return path


def save_picture(picture: Picture, path: str | Path) -> Path:
    return save_grid(picture.images, path, picture.ncol, legend=picture.legend,
                     rows=picture.rows)


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
    """Rows of `top` followed by the matching rows of `bottom`: originals over reconstructions
    (a last row short of `ncol` filled with the grid's grey ground, so rows never mix)."""
    rows = []
    for i in range(0, len(top), ncol):
        for part in (top[i:i + ncol], bottom[i:i + ncol]):
            rows += [part, torch.full_like(part[:1], 0.5).expand(ncol - len(part),
                                                                 *part.shape[1:])]
    return torch.cat(rows)


def samples(model, n: int = 64, show: str | None = None, fitted: bool = False,
            temperature: float = 1.0) -> Picture:
    """n pictures of p(x|z), z ~ p(z) (`fitted`: an autoencoder's Gaussian of its codes;
    `temperature` T != 1: a VAE's prior with its scales times T)."""
    if temperature != 1.0:
        if not hasattr(model, "latent_prior"):
            raise VaekitError("--temperature is for a VAE's prior")
        images = model.sample(n, show, temperature).cpu()
        return Picture(images, f"samples: {model.shown(show)}, z ~ p(z) at temperature "
                               f"{temperature:g} (its scales times {temperature:g})")
    images = (model.sample_fitted if fitted else model.sample)(n, show).cpu()
    z = "z ~ the Gaussian fitted to the codes" if fitted else "z ~ p(z)"
    return Picture(images, f"samples: {model.shown(show)}, {z}")


@torch.no_grad()
def reconstructions(model, splits, n: int = 32, ncol: int = 8,
                    show: str | None = None) -> torch.Tensor:
    """Test images spread over the split, rows of originals over reconstructions: [2n', *event]
    (each short last row filled with the grey ground)."""
    rows = spread(len(splits.test), n)
    shown = torch.from_numpy(splits.dataset.unit(splits.dataset.test[rows.numpy()]))
    device = devices.of(model)
    return interleave_rows(shown, model.reconstruct(splits.test[rows].to(device), show).cpu(),
                           ncol)


def reconstruction_picture(model, splits, n: int = 32, ncol: int = 8,
                           show: str | None = None) -> Picture:
    images = reconstructions(model, splits, n, ncol, show)
    return Picture(images, f"test images, each row over its reconstructions: "
                   f"{model.shown(show)}, z = {model.code}",
                   ["test", "reconstructed"] * (len(images) // (2 * ncol)), ncol)


def mean_pair_distance(t: torch.Tensor, dim: int) -> float:
    """The mean |a - b| over every element of every pair of distinct slices a, b along `dim`."""
    t = t.movedim(dim, 0).flatten(1).double()                                   # [K, rest]
    k = len(t)
    if k < 2:
        return 0.0
    total = sum((t[i + 1:] - t[i]).abs().sum().item() for i in range(k - 1))
    return total / (k * (k - 1) / 2 * t.shape[1])


def class_label(names: list[str] | None, k: int) -> str:
    """Label k's name from the data's class names, else "y=k"."""
    return names[k] if names and k < len(names) else f"y={k}"


@torch.no_grad()
def class_samples(model, names: list[str] | None = None, ncol: int = 8,
                  show: str | None = None) -> Picture:
    """p(x | y, z): a row per class y, named (`names`, by label; else y=k), the same z down
    each column: [K * ncol, *event]. The legend measures how much the mean of p(x|y,z) moves
    between classes at one z and between columns (z) in one class, per pixel on [0, 1]: rows
    that look alike because the decoder ignores y say so."""
    classes = model.latent.classes
    p = model.observation(model.latent.class_grid(ncol))                         # [K*ncol]
    means = model.likelihood.mean_image(p).unflatten(0, (classes, ncol)).cpu()
    images = model.likelihood.picture(p, show).cpu()
    rows = [class_label(names, k) for k in range(classes)]
    legend = (f"p(x|y,z), a row per class y, one z ~ p(z) per column: {model.shown(show)}. "
              f"The mean of p(x|y,z) differs by {mean_pair_distance(means, 0):.3f} per pixel "
              f"between classes (same z), by {mean_pair_distance(means, 1):.3f} between "
              "columns (same y)")
    return Picture(images, legend, rows, ncol)


@torch.no_grad()
def traversal_images(model, x: torch.Tensor, n_vars: int = 10,
                     show: str | None = None) -> torch.Tensor:
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
    return model.likelihood.picture(model.observation(z.flatten(-2)), show).cpu()
