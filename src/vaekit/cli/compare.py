"""`vaekit compare`: models side by side on one dataset (compare.py)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..compare import compare_runs, format_rows
from .common import RUN_HELP, add_dataset, new_folder, positive


def add(sub) -> None:
    c = sub.add_parser("compare", help="models side by side: samples, NLL, ELBO, FID, time",
                       description="A figure with a row of samples per run and a table of test "
                       "NLL and ELBO (where a model has a likelihood), a dataset-specific FID, "
                       "class entropies and training time. Writes compare.png and compare.json "
                       "into --out.")
    c.add_argument("runs", nargs="+", help=f"each a {RUN_HELP}; one dataset")
    c.add_argument("--n", type=positive, default=2000,
                   help="samples and real images for FID (default 2000)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--threads", type=positive, help="torch threads (default: torch's choice)")
    c.add_argument("--no-fid", action="store_true",
                   help="no FID or class entropies: skips training the feature classifier a "
                   "dataset needs on first use (its time is announced, measured, as it starts) "
                   "(default: off, FID computed)")
    c.add_argument("--out", help="folder for compare.png and compare.json (default: a new "
                   "runs/compare-YYYYmmdd-HHMMSS/)")
    add_dataset(c, "these data instead of the runs' own (e.g. where they have moved to): a "
                "named dataset, a .npy/.npz file or an image folder")
    c.set_defaults(handler=compare)


def compare(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else new_folder(Path("runs"), "compare")
    rows, figure = compare_runs(args.runs, n=args.n, seed=args.seed, out_dir=out,
                                device=args.device, fid=not args.no_fid, dataset=args.dataset)
    print(format_rows(rows))
    print(f"wrote compare.json{' and compare.png' if figure.is_file() else ''} in {out}")
    if figure.is_file():
        print(f"{figure}: a row of samples per model, named at its left (the autoencoder: "
              "prior, then fitted Gaussian), real test images last")
    return 0
