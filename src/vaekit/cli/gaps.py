"""`vaekit gaps`: the approximation and amortization gaps of a VAE run (Cremer et al. 2018)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import runs
from ..gaps import format_table, gap_report
from ..inference import LocalOptimizer
from .common import add_dataset, add_estimation, add_run, load_vae, positive, run_of


def add(sub) -> None:
    g = sub.add_parser("gaps", help="approximation and amortization gaps (Cremer et al. 2018)",
                       description="log p(x), L[q*], L[semi], L[q_phi] and the gaps between "
                       "them on the first --n test examples; prints the table and writes JSON.")
    add_run(g)
    add_dataset(g)
    g.add_argument("--n", type=positive, default=500, help="test examples (default 500)")
    g.add_argument("--k", type=positive, default=5000, help="importance samples (default 5000)")
    g.add_argument("--elbo-samples", type=positive, default=100, help="samples per ELBO (default 100)")
    g.add_argument("--refine-steps", type=positive, help="semi steps (default: the run's, 5)")
    g.add_argument("--max-iter", type=positive, default=5000, help="E-step iteration cap (default 5000)")
    add_estimation(g, f"JSON path (default RUN/{runs.GAPS})")
    g.set_defaults(handler=gaps)


def gaps(args) -> int:
    model, ckpt, _, x = load_vae(args)
    torch.manual_seed(args.seed)
    settings = LocalOptimizer.for_model(model, max_iter=args.max_iter)
    table = gap_report(model, x, k=args.k, elbo_samples=args.elbo_samples,
                       refine_steps=args.refine_steps, settings=settings, max_rows=args.max_rows)
    table["checkpoint"] = str(ckpt.path)
    print(format_table(table))
    out = Path(args.out) if args.out else run_of(args).file(runs.GAPS)
    out.write_text(json.dumps(table, indent=1))
    print(out)
    return 0
