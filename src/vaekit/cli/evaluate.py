"""`vaekit evaluate`: importance-sampled log p(x), the ELBO's terms and bits/dim of a run."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..evaluation import evaluate as estimate
from ..evaluation import format_result
from .common import add_dataset, add_estimation, add_run, loaded, positive, require_vae


def add(sub) -> None:
    e = sub.add_parser("evaluate", help="importance-sampled log p(x), ELBO terms, bits/dim",
                       description="Evaluate a run's best checkpoint on its test data.")
    add_run(e)
    e.add_argument("--k", type=positive, default=5000, help="importance samples (default 5000)")
    e.add_argument("--n", type=positive, help="first N examples only")
    e.add_argument("--split", choices=("test", "valid"), default="test")
    add_dataset(e, "evaluate on these data's split instead of the run's own (a named dataset, "
                "a .npy/.npz file or an image folder, e.g. where the run's data have moved to; "
                "same preprocessing; the example shape must match)")
    add_estimation(e, "also write the results as JSON here")
    e.set_defaults(handler=evaluate)


def evaluate(args) -> int:
    model, ckpt, splits = loaded(args)
    require_vae(ckpt)
    x = splits.test if args.split == "test" else splits.valid
    labels = splits.test_labels if args.split == "test" else splits.valid_labels
    labels = labels[:len(x)] if ckpt.config.data.labels and labels is not None else None
    if args.n:
        x, labels = x[:args.n], None if labels is None else labels[:args.n]
    torch.manual_seed(args.seed)
    result = estimate(model, x, k=args.k, levels=splits.dequantized_levels,
                      max_rows=args.max_rows, labels=labels)
    result.update(checkpoint=str(ckpt.path), split=args.split)
    print(format_result(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0
