"""`vaekit figures`: every figure of a run into RUN/figures/ (figures.py)."""

from __future__ import annotations

import torch

from .. import runs
from ..figures import run_figures
from .common import add_dataset, add_run, add_show, load_vae, positive, run_of


def add(sub) -> None:
    f = sub.add_parser("figures", help=f"write every figure of a run to RUN/{runs.FIGURES}/",
                       description="Samples, reconstructions, latent interpolation, the 2-D "
                       "latent manifold (2-D Gaussian latents under the standard prior), a "
                       "scatter of test codes by label, training curves.")
    add_run(f)
    add_dataset(f)
    f.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    f.add_argument("--threads", type=positive, help="torch threads (default: torch's choice)")
    add_show(f)
    f.set_defaults(handler=figures, n=None)


def figures(args) -> int:
    model, ckpt, splits, _ = load_vae(args)
    torch.manual_seed(args.seed)
    figures = run_figures(model, ckpt.config, splits, run_of(args).path, args.seed, args.show)
    for title, path in figures.items():
        print(f"{path}  ({title})")
    return 0
