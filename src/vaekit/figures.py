"""The figures of a run: samples, reconstructions, latent interpolation, the 2-D latent manifold
(Kingma & Welling 2014, fig. 4), M2's classes, a scatter of test codes by class, and training
curves. `run_figures` writes those that apply into RUN/figures/ and returns {title: path};
each picture's legend and title say what it shows of p(x|z) (`show`: likelihoods/base.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from . import devices, runs
from .latents import GaussianLatent
from .latents.base import methods
from .plots import (class_label, class_samples, reconstruction_picture, samples, save_grid,
                    save_picture)

SCATTER_NAMED = 20      # up to this many classes: a legend of their names, else a colour bar


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


@torch.no_grad()
def interpolation(model, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 10,
                  show: str | None = None) -> torch.Tensor:
    """Decodings along the line from E_q[z|x_a] to E_q[z|x_b]: [pairs * steps, *event]."""
    device = devices.of(model)
    z_a, z_b = (methods(model.posterior(x.to(device))).point() for x in (x_a, x_b))
    t = torch.linspace(0, 1, steps, device=device).view(1, steps, 1)
    z = (1 - t) * z_a.unsqueeze(1) + t * z_b.unsqueeze(1)            # [pairs, steps, Z]
    return model.likelihood.picture(model.observation(z.flatten(0, 1)), show)


@torch.no_grad()
def manifold(model, n: int = 15, show: str | None = None) -> torch.Tensor:
    """2-D Gaussian latents: means at an n x n grid of N(0, I) quantiles: [n * n, *event]."""
    q = torch.linspace(0.5 / n, 1 - 0.5 / n, n)
    v = torch.distributions.Normal(0.0, 1.0).icdf(q)
    z = torch.stack(torch.meshgrid(v.flip(0), v, indexing="ij"), -1).reshape(-1, 2)
    return model.likelihood.picture(model.observation(z[:, [1, 0]].to(devices.of(model))), show)


def class_names(run: runs.Run, splits) -> list[str] | None:
    """The names of the labels: those the run stored when it trained, else its data's."""
    names = run.summary().get(runs.CLASS_NAMES) or splits.dataset.class_names
    return list(names) if names else None


@torch.no_grad()
def latent_scatter(model, x: torch.Tensor, labels: np.ndarray | None, path: Path,
                   names: list[str] | None = None) -> Path:
    """E_q[z|x] of test examples in 2-D (PCA beyond 2 dimensions), coloured by class: a legend
    of the class names (`names`, by label; else the labels) up to SCATTER_NAMED classes."""
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
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=4, alpha=0.7, c="tab:blue")
    elif len(np.unique(labels)) <= SCATTER_NAMED:
        _named_classes(ax, codes, np.asarray(labels), names, plt)
    else:
        points = ax.scatter(codes[:, 0], codes[:, 1], s=4, alpha=0.7, c=labels, cmap="tab20")
        fig.colorbar(points, ax=ax, label="label")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _named_classes(ax, codes: np.ndarray, labels: np.ndarray, names, plt) -> None:
    """One colour per class, named in a legend beside the axes."""
    colours = plt.get_cmap("tab10" if labels.max() < 10 else "tab20")
    for k in np.unique(labels):
        name = class_label(names, int(k))
        ax.scatter(*codes[labels == k].T, s=4, alpha=0.7, color=colours(int(k) % colours.N),
                   label=name)
    ax.legend(title="class", markerscale=3, fontsize="small", loc="upper left",
              bbox_to_anchor=(1.01, 1.0))


def training_curves(history: list[dict], path: Path) -> Path | None:
    """ELBO (train, validation), reconstruction log p(x|z) and KL per epoch."""
    rows = [r for r in history if "valid_elbo" in r]
    if not rows:
        return None
    plt = _pyplot()
    epochs = [r[runs.EPOCH] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    trained = runs.trained_key(rows[-1]) or "train_elbo"    # the IWAE bounds: train_iwae8, ...
    bound = "ELBO" if trained == "train_elbo" else "trained bound, ELBO"
    panels = [(f"{bound} (nats)", [(trained, f"train ({trained[6:]})"),
                                   ("valid_elbo", "validation (elbo)")]),
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


def run_figures(model, config, splits, run_dir: Path, seed: int = 0,
                show: str | None = None) -> dict[str, Path]:
    """Every figure that applies to this VAE run, written to RUN/figures/: {title: path};
    `show`: what pictures show of p(x|z) (None: the likelihood's default)."""
    run = runs.Run(run_dir)
    out_dir = run.figures
    out_dir.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Path] = {}
    curves = training_curves(run.metrics(), out_dir / runs.TRAINING_CURVES)
    if curves:
        figures["Training curves"] = curves
    names = class_names(run, splits)
    if splits.dataset.is_image:
        figures.update(_pictures(model, splits, out_dir, seed, show, names))
    x = splits.test
    n = min(len(x), 2000)
    labels = splits.test_labels[:n] if splits.test_labels is not None else None
    figures["Latent codes of test data" + (" by class" if labels is not None else "")] = \
        latent_scatter(model, x[:n], labels, out_dir / runs.LATENT_SCATTER, names)
    return figures


def _pictures(model, splits, out_dir: Path, seed: int, show: str | None,
              names: list[str] | None) -> dict[str, Path]:
    """The image grids, each titled with what it shows; the samples' means beside them where
    the pictures are not the mean (the same z: the same seed)."""
    shown, x, out = model.shown(show), splits.test, {}
    torch.manual_seed(seed)
    out[f"Samples from the prior: {shown}"] = save_picture(samples(model, 64, show),
                                                           out_dir / runs.SAMPLES)
    if model.likelihood.shows(show) != "mean":
        torch.manual_seed(seed)
        out[f"The same z: {model.shown('mean')}"] = save_picture(
            samples(model, 64, "mean"), out_dir / runs.SAMPLES_MEAN)
    out[f"Test images over their reconstructions: {shown}"] = save_picture(
        reconstruction_picture(model, splits, show=show), out_dir / runs.RECONSTRUCTIONS)
    pairs = min(6, len(x) // 2)
    out[f"Latent interpolation between test images: {shown}"] = save_grid(
        interpolation(model, x[:pairs], x[pairs:2 * pairs], show=show),
        out_dir / runs.INTERPOLATION, ncol=10, legend="a row per pair of test images: "
        f"{shown} along z from E_q[z|x_a] to E_q[z|x_b]")
    if isinstance(model.latent, GaussianLatent) and model.latent.z_size == 2 \
            and not model.config.prior.learned:      # the grid is N(0, I)'s quantiles
        out[f"2-D latent manifold: {shown}"] = save_grid(
            manifold(model, show=show), out_dir / runs.MANIFOLD, ncol=15,
            legend=f"{shown} at z on a 15 x 15 grid of N(0, I) quantiles")
    if model.latent.classes:
        out[f"Classes: p(x|y,z), {shown}"] = save_picture(
            class_samples(model, names, show=show), out_dir / runs.CLASSES)
    return out
