"""`vaekit report`: one self-contained report.html for a run (report.py)."""

from __future__ import annotations

import torch

from .. import runs
from ..report import write_report
from .common import add_dataset, add_run, add_show, load_vae, positive, run_of


def add(sub) -> None:
    r = sub.add_parser("report", help=f"one self-contained {runs.REPORT} for a run",
                       description="Metrics, per-epoch log, every figure (embedded) and the "
                       "configuration in one HTML file that opens in a browser without a "
                       "server.")
    add_run(r)
    add_dataset(r)
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--threads", type=positive, help="torch threads (default: torch's choice)")
    add_show(r)
    r.add_argument("--out", help=f"HTML path (default RUN/{runs.REPORT})")
    r.set_defaults(handler=report, n=None)


def report(args) -> int:
    model, ckpt, splits, _ = load_vae(args)
    torch.manual_seed(args.seed)
    print(write_report(model, ckpt, splits, run_of(args).path, args.out, args.show))
    return 0
