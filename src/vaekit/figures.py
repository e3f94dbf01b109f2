"""The figures of a run: samples, reconstructions, latent interpolation, the 2-D latent manifold
(Kingma & Welling 2014, fig. 4), a scatter of test codes by label, and training curves.
`run_figures` writes those that apply into RUN/figures/ and returns {title: path}.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import devices, runs
from .latents import GaussianLatent
from .latents.base import methods
from .plots import reconstructions, save_grid


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


@torch.no_grad()
def interpolation(model, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Decodings along the line from E_q[z|x_a] to E_q[z|x_b]: [pairs * steps, *event]."""
    device = devices.of(model)
    z_a, z_b = (methods(model.posterior(x.to(device))).point() for x in (x_a, x_b))
    t = torch.linspace(0, 1, steps, device=device).view(1, steps, 1)
    z = (1 - t) * z_a.unsqueeze(1) + t * z_b.unsqueeze(1)            # [pairs, steps, Z]
    return model.likelihood.mean_image(model.observation(z.flatten(0, 1)))


@torch.no_grad()
def manifold(model, n: int = 15) -> torch.Tensor:
    """2-D Gaussian latents: means at an n x n grid of N(0, I) quantiles: [n * n, *event]."""
    q = torch.linspace(0.5 / n, 1 - 0.5 / n, n)
    v = torch.distributions.Normal(0.0, 1.0).icdf(q)
    z = torch.stack(torch.meshgrid(v.flip(0), v, indexing="ij"), -1).reshape(-1, 2)
    return model.likelihood.mean_image(model.observation(z[:, [1, 0]].to(devices.of(model))))


@torch.no_grad()
def latent_scatter(model, x: torch.Tensor, labels: np.ndarray | None, path: Path) -> Path:
    """E_q[z|x] of test examples in 2-D (PCA beyond 2 dimensions), coloured by label."""
    from sklearn.decomposition import PCA
    plt = _pyplot()
    codes = methods(model.posterior(x.to(devices.of(model)))).point().double().cpu().numpy()
    title = "E_q[z|x]"
    if codes.shape[1] > 2:
        pca = PCA(2).fit(codes)
        codes = pca.transform(codes)
        title += f" (PCA: {100 * pca.explained_variance_ratio_.sum():.0f}% of variance)"
    elif codes.shape[1] == 1:
        codes = np.column_stack([codes[:, 0], np.zeros(len(codes))])
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    points = ax.scatter(codes[:, 0], codes[:, 1], s=4, alpha=0.7,
                        c=labels if labels is not None else "tab:blue",
                        cmap="tab10" if labels is not None else None)
    if labels is not None:
        fig.colorbar(points, ax=ax, label="label")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def training_curves(history: list[dict], path: Path) -> Path | None:
    """ELBO (train, validation), reconstruction log p(x|z) and KL per epoch."""
    rows = [r for r in history if "valid_elbo" in r]
    if not rows:
        return None
    plt = _pyplot()
    epochs = [r[runs.EPOCH] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    panels = [("ELBO (nats)", [("train_elbo", "train"), ("valid_elbo", "validation")]),
              ("log p(x|z) (nats)", [("train_rec_log_lik", "train"), ("valid_rec_log_lik", "validation")]),
              ("KL (nats)", [("train_kl", "train"), ("valid_kl", "validation")])]
    for ax, (title, series) in zip(axes, panels):
        for key, label in series:
            values = [r.get(key) for r in rows]
            if all(v is not None for v in values):
                ax.plot(epochs, values, label=label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run_figures(model, config, splits, run_dir: Path, seed: int = 0) -> dict[str, Path]:
    """Every figure that applies to this VAE run, written to RUN/figures/: {title: path}."""
    run = runs.Run(run_dir)
    out_dir = run.figures
    out_dir.mkdir(parents=True, exist_ok=True)
    x = splits.test
    figures: dict[str, Path] = {}
    curves = training_curves(run.metrics(), out_dir / runs.TRAINING_CURVES)
    if curves:
        figures["Training curves"] = curves
    torch.manual_seed(seed)
    if splits.dataset.is_image:
        figures["Samples from the prior"] = save_grid(model.sample(64), out_dir / runs.SAMPLES)
        figures["Test images over their reconstructions"] = save_grid(
            reconstructions(model, splits), out_dir / runs.RECONSTRUCTIONS)
        pairs = min(6, len(x) // 2)
        figures["Latent interpolation between test images"] = save_grid(
            interpolation(model, x[:pairs], x[pairs:2 * pairs]), out_dir / runs.INTERPOLATION,
            ncol=10)
        if isinstance(model.latent, GaussianLatent) and model.latent.z_size == 2:
            figures["2-D latent manifold"] = save_grid(manifold(model), out_dir / runs.MANIFOLD,
                                                       ncol=15)
    n = min(len(x), 2000)
    labels = splits.test_labels[:n] if splits.test_labels is not None else None
    figures["Latent codes of test data"] = latent_scatter(model, x[:n], labels,
                                                         out_dir / runs.LATENT_SCATTER)
    return figures
