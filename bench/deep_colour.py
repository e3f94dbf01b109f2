"""Benchmark: the deep top-down hierarchy against the conv VAE on colour images at equal wall time
(issue 26), both with PixelCNN++'s discretized logistic mixture (10 components) on the 8-bit
levels.

In one process, one after the other: the conv VAE of bench/colour.py (50 Gaussian latents,
`--network conv`, Adam 1e-3, batch 64) for --epochs epochs, then `--latent topdown` for as
long as the conv VAE took (common.train_for: whole epochs, each a resumed call whose setup
counts against it); or side by side in two processes (--done / --until, as
bench/deep_fashion_mnist.py). Test bits/dim from importance-sampled log p(x) (K = --k, every
--every-th test patch, q over all groups jointly) with standard errors and the paired
difference; the hierarchy's KL per resolution and active units per group; with --ema
(default 0.999) the average's bits/dim paired with the weights' own; samples of both at
temperatures 1.0 and 0.8 (`vaekit sample --temperature`) as PNG grids in --out.

    python bench/deep_colour.py --epochs 10 --out runs/deep-colour
    python bench/deep_colour.py --models conv --threads 1 --per-image d --done d/conv &
    python bench/deep_colour.py --models topdown --threads 1 --per-image d --until d/conv
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import tempfile
import time

import torch

import vaekit
from common import (SHARED, announce, deadline, keep, paired_difference, per_image, train_for,
                    weights_of)
from vaekit.evaluation import active_per_layer, active_units, elbo_report, log_likelihood
from vaekit.evaluation import per_resolution
from vaekit.plots import samples, save_picture

LIKELIHOOD = {"name": "dlogistic-mix", "mixtures": 10}


def configs(args) -> dict:
    hierarchy = {"name": "topdown", "width": args.width, "latent_channels": args.latent_channels,
                 "groups": tuple(int(g) for g in args.groups.split(",")),
                 "stem_stride": args.stem_stride, "top": args.top}
    network = {"name": "topdown", "stem_stride": args.stem_stride, "top": args.top,
               "stem": args.stem}
    data = vaekit.DataConfig(args.dataset, valid_fraction=0.0, seed=args.seed)
    base = dict(data=data, batch_size=64, lr=1e-3, seed=args.seed, threads=args.threads)
    return {"conv": vaekit.TrainConfig(model=vaekit.ModelConfig(likelihood=LIKELIHOOD,
                                                                network="conv"),
                                       epochs=args.epochs, **base),
            "topdown": vaekit.TrainConfig(model=vaekit.ModelConfig(likelihood=LIKELIHOOD,
                                                                   latent=hierarchy,
                                                                   network=network),
                                          epochs=10 ** 6, grad_clip=args.grad_clip,
                                          grad_skip=args.grad_skip, ema=args.ema, **base)}


def evaluate(name: str, model, test, args, extra: dict, pictures: bool = True) -> dict:
    dim = math.prod(model.event_shape)
    torch.manual_seed(args.seed)
    ll = log_likelihood(model, test, k=args.k)
    bits = -ll.per_example / (dim * math.log(2))
    report = elbo_report(model, test)
    _, variance = active_units(model, test)
    row = {"model": name, "test_bits_per_dim": round(bits.mean().item(), 4),
           "test_bits_per_dim_se": round(bits.std().item() / len(bits) ** 0.5, 4),
           "test_elbo_bits_per_dim": round(-report.elbo / (dim * math.log(2)), 4),
           "k": args.k, "n": len(test), "test_kl_layers": [round(v, 2) for v in report.kl_layers],
           "active_units_layers": active_per_layer(model, variance), **extra}
    by_level = per_resolution(model, report.kl_layers)
    if by_level is not None:
        row["test_kl_per_resolution"] = {k: round(v, 2) for k, v in by_level.items()}
    os.makedirs(args.out, exist_ok=True)
    for t in (1.0, 0.8) if pictures else ():
        torch.manual_seed(args.seed)
        save_picture(samples(model, 64, temperature=t),
                     os.path.join(args.out, f"{name}-samples-T{t}.png"))
    keep(name, ll.per_example)
    return row


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="photo-patches")
    p.add_argument("--epochs", type=int, default=10, help="the conv VAE's")
    p.add_argument("--seconds", type=float, help="the hierarchy's wall time (default: the conv "
                                                 "VAE's)")
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--latent-channels", type=int, default=8)
    p.add_argument("--groups", default="2,2,2", help="per resolution, coarsest first (1x1, "
                                                    "4x4, 8x8 behind --stem-stride 4)")
    p.add_argument("--stem-stride", type=int, default=4)
    p.add_argument("--top", default="dense", choices=["dense", "pooled"])
    p.add_argument("--stem", default="staged", choices=["staged", "single"])
    # gradient norms here (nats per image over 3,072 dimensions) rose from 800 to 10,000-20,000
    # over the first 100 steps, against 60-560 on Fashion-MNIST: a skip threshold scales with
    # the data (1000 skipped 83 of a first epoch's 105 updates); by the 8th epoch their median
    # was 24,062 and 1e5 skipped 3 of 720 ordinary tail steps (README): about 10x the median
    # would skip none of those
    p.add_argument("--grad-clip", type=float, default=0.0)
    p.add_argument("--grad-skip", type=float, default=1e5)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="deep-colour", help="folder of the sample grids")
    p.add_argument("--models", default="conv,topdown", help="comma-separated subset")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="evaluate every N-th test patch (both photographs; K=1000 took over "
                        "14 minutes for the 450 on 2 cores)")
    p.add_argument("--per-image", metavar="DIR", help="keep per-patch log p(x) here, to pair "
                                                      "runs made in separate processes")
    p.add_argument("--done", metavar="FILE", help="write the conv VAE's training time here")
    p.add_argument("--until", metavar="FILE", help="train the hierarchy until FILE holds the "
                   "conv VAE's time (beside it: --models conv --done FILE), evaluating the "
                   "last epoch that ended within it")
    args = p.parse_args()
    if args.per_image:
        os.makedirs(args.per_image, exist_ok=True)
        SHARED["dir"] = args.per_image
    models = args.models.split(",")
    if args.seconds and args.until:
        raise SystemExit("give --seconds or --until, not both")
    if "topdown" in models and "conv" not in models and not (args.seconds or args.until):
        raise SystemExit("the hierarchy alone trains for --seconds or --until the conv VAE's "
                         "time")
    seconds = args.seconds
    announce(args.done, None)                       # what an earlier run left there
    result = None
    for name, config in configs(args).items():
        if name not in models:
            continue
        if name == "topdown" and args.until:
            config = dataclasses.replace(config, epochs=10 ** 6)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as run_dir:
            result, counts = train_for(config, run_dir, seconds if name == "topdown" else None,
                                       deadline(args.until) if name == "topdown" else None)
        counts["train_seconds"] = counts.get("seconds_used",
                                             round(time.perf_counter() - start, 1))
        announce(args.done if name == "conv" else None, counts["train_seconds"])
        if name == "conv" and seconds is None:
            seconds = counts["train_seconds"]
        test = result.splits.test[::args.every]
        print(json.dumps(evaluate(name, result.model.eval(), test, args, counts)), flush=True)
        raw = weights_of(result)
        if raw is not None:         # --ema: the weights' own bits/dim, to pair with
            print(json.dumps(evaluate(name + "-weights", raw, test, args, {}, pictures=False)),
                  flush=True)
    pairs = {}
    for a, b in (("topdown", "conv"), ("topdown", "topdown-weights")):
        if result is not None and per_image(a) is not None and per_image(b) is not None:
            nats = paired_difference(a, b)            # per image; over its dimensions: bits/dim
            per_dim = math.prod(result.splits.event_shape) * math.log(2)
            pairs[f"{a} minus {b}"] = {"bits_per_dim": round(nats["nll_difference"] / per_dim, 4),
                                       "se": round(nats["difference_se"] / per_dim, 4)}
    print(json.dumps(pairs))


if __name__ == "__main__":
    main()
