"""Pictures: grids of images, written as PNG with matplotlib (no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def tile(images: np.ndarray, ncol: int, pad: int = 1) -> np.ndarray:
    """[N, H, W] in [0, 1] -> one [rows*(H+pad)+pad, ncol*(W+pad)+pad] picture."""
    n, h, w = images.shape
    nrow = -(-n // ncol)
    out = np.full((nrow * (h + pad) + pad, ncol * (w + pad) + pad), 0.5, dtype=np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, ncol)
        out[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = img
    return out


def save_grid(images: torch.Tensor | np.ndarray, image_shape: tuple[int, ...], path: str | Path,
              ncol: int = 8, min_pixels: int = 28) -> Path:
    """Save images [N, D] (D = prod(image_shape), values in [0, 1]) as a grey-scale grid PNG.
    Small images are enlarged by pixel repetition to at least `min_pixels` on a side."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    arr = np.asarray(images.detach().cpu() if torch.is_tensor(images) else images, dtype=np.float32)
    arr = arr.reshape(len(arr), *image_shape[-2:])
    scale = max(1, -(-min_pixels // max(image_shape[-2:])))
    grid = np.kron(tile(arr, ncol), np.ones((scale, scale), dtype=np.float32))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plt.imsave(path, 1.0 - grid, cmap="gray", vmin=0.0, vmax=1.0)  # dark ink on white
    return path


def interleave_rows(top: torch.Tensor, bottom: torch.Tensor, ncol: int) -> torch.Tensor:
    """Rows of `top` followed by the matching rows of `bottom`: originals over reconstructions."""
    rows = []
    for i in range(0, len(top), ncol):
        rows += [top[i:i + ncol], bottom[i:i + ncol]]
    return torch.cat(rows)


@torch.no_grad()
def latent_traversal(model, x: torch.Tensor, image_shape: tuple[int, ...], path: str | Path,
                     n_vars: int = 10) -> Path:
    """Categorical latents: start from the mode of q(z|x) for one image x [D]; row i sets
    variable i to each of the K classes in turn (the rest unchanged) and shows the decoded mean."""
    lat = model.latent
    n_vars = min(n_vars, lat.n_vars)
    q = model.posterior(x.unsqueeze(0))
    mode = torch.nn.functional.one_hot(q.logits.argmax(-1), lat.n_classes).float()   # [1, N, K]
    z = mode.repeat(n_vars * lat.n_classes, 1, 1)                                      # [n*K, N, K]
    for i in range(n_vars):
        rows = slice(i * lat.n_classes, (i + 1) * lat.n_classes)
        z[rows, i] = torch.eye(lat.n_classes)
    images = model.likelihood.mean_image(model.observation(z.flatten(-2)))
    return save_grid(images, image_shape, path, ncol=lat.n_classes)
