"""`vaekit impute`: fill the missing pixels of masked test images with the iterated q/p chain,
scored against the truth and against the training mean."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .. import runs
from ..errors import VaekitError
from ..imputation import impute as run_chain
from ..imputation import make_mask
from ..plots import mark_missing, rgb, save_grid, spread
from .common import add_dataset, add_picture, load_vae, picture_path, positive, run_of


def add(sub) -> None:
    im = add_picture(sub, "impute", impute, 100, runs.IMPUTATION_PICTURE,
                     "fill missing pixels with the iterated q/p chain",
                     "Mask part of each test image, run z ~ q(z|x~), x~_missing ~ p(x|z) for "
                     "--steps steps, score the missing pixels against the truth and against "
                     f"filling with the training mean; write a PNG and {runs.IMPUTATION}.")
    im.add_argument("--mask", default="top-half",
                    help="top-half (default) | bottom-half | left-half | right-half | random-half")
    im.add_argument("--steps", type=positive, default=50, help="chain steps T (default 50)")
    im.add_argument("--burn-in", type=int, default=10,
                    help="steps left out of the predictive (default 10)")
    im.add_argument("--json", help=f"summary path (default RUN/{runs.IMPUTATION})")
    im.add_argument("--threads", type=positive, help="torch threads (default: torch's choice)")
    add_dataset(im)


def impute(args) -> int:
    model, ckpt, splits, _ = load_vae(args)
    x = splits.test[spread(len(splits.test), args.n)]      # the whole range of the test split
    if not 0 <= args.burn_in < args.steps:
        raise VaekitError(f"--burn-in must be in 0..{args.steps - 1} (below --steps)")
    train = torch.from_numpy(splits.dataset.unit(splits.train[:10000]))   # the statistics
    generator = torch.Generator().manual_seed(args.seed)
    try:
        mask = make_mask(args.mask, len(x), model.event_shape, generator)
    except ValueError as e:
        raise VaekitError(str(e)) from None
    torch.manual_seed(args.seed)
    result = run_chain(model, x, mask, train.mean(0), train.std(0), args.steps, args.burn_in)
    summary = _summary(args, x, result)
    print(f"missing pixels: log-likelihood per image, chain {summary['chain_log_lik_missing']:.3f}"
          f" vs training-mean baseline {summary['baseline_log_lik_missing']:.3f} nats "
          f"(gain {summary['gain_per_image']:.3f} +- {summary['gain_se']:.3f}); mean squared "
          f"error {summary['chain_mse_missing']:.4f} vs {summary['baseline_mse_missing']:.4f}")
    out = Path(args.json) if args.json else run_of(args).file(runs.IMPUTATION)
    out.write_text(json.dumps(summary, indent=1))
    if splits.dataset.is_image:
        _picture(args, x, mask, result)
    return 0


def _summary(args, x, result) -> dict:
    missing = result.missing.sum().item()
    return {"mask": args.mask, "n": len(x), "steps": args.steps, "burn_in": args.burn_in,
            "missing_values_per_image": missing / len(x),
            "chain_log_lik_missing": result.log_lik.mean().item(),
            "chain_log_lik_missing_se": result.log_lik.std().item() / len(x) ** 0.5,
            "baseline_log_lik_missing": result.baseline_log_lik.mean().item(),
            "gain_per_image": (result.log_lik - result.baseline_log_lik).mean().item(),
            "gain_se": (result.log_lik - result.baseline_log_lik).std().item() / len(x) ** 0.5,
            "chain_mse_missing": result.squared_error.sum().item() / missing,
            "baseline_mse_missing": result.baseline_squared_error.sum().item() / missing}


def _picture(args, x, mask, result) -> None:
    """RGB rows: masked input, chain steps, predictive mean, truth (observed pixels as they are)."""
    shown = min(len(x), args.ncol)
    picks = torch.linspace(1, args.steps, min(args.steps, 6)).round().long().unique()
    x, mask = x[:shown], mask[:shown]
    predictive = torch.where(mask, result.means[args.burn_in:, :shown].mean(0), x)
    rows = [mark_missing(x, mask)] + [rgb(result.steps[t, :shown]) for t in picks.tolist()] + \
           [rgb(predictive), rgb(x)]
    out = save_grid(torch.cat(rows), picture_path(args), ncol=shown)
    marker = "red" if x.shape[1] == 1 else "magenta/green checks"
    print(f"{out}: rows = masked input (missing {marker}), chain steps "
          f"{', '.join(map(str, picks.tolist()))} (missing pixels drawn from p(x|z)), predictive "
          "mean of the missing pixels, truth; observed pixels are the truth in every row")
