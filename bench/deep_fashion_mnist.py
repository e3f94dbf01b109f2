"""Benchmark: the deep top-down hierarchy against the conv VAE at equal wall time (issue 26).

In one process, one after the other (the same sitting, the same threads): the conv VAE
(`--network conv`, diagonal Gaussian q, N(0, I)) for --epochs epochs; then `--latent topdown`
for as long as the conv VAE took (whole epochs while the next is expected to end within that
time; each epoch one resumed call, its setup counted against it), or for --seconds. Both on
dynamically binarized Fashion-MNIST (batch 128, Adam 1e-3, all 60,000 training images, the ELBO)
and evaluated the same way (common.py: test NLL K=1000 on the first 1000 fixed-binarized test
images, q over all groups jointly). Prints one JSON line per model (with examples/s, epochs
trained, updates skipped by --grad-skip, the NaN guard's events; for the hierarchy the KL and
active units per group and the KL per resolution) and the paired NLL difference topdown - conv
with its standard error (negative: the hierarchy is better); with --ema (default 0.999) also
the average's NLL minus the weights' own (the last iterate), paired.

    python bench/deep_fashion_mnist.py --epochs 50
    python bench/deep_fashion_mnist.py --models topdown --seconds 1200
    # side by side, one thread each: the hierarchy trains as long as the conv VAE did
    python bench/deep_fashion_mnist.py --models conv --threads 1 --per-image d --done d/conv &
    python bench/deep_fashion_mnist.py --models topdown --threads 1 --per-image d --until d/conv
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import vaekit
from vaekit import evaluation
from common import (announce, deadline, fashion_config, paired_difference, parse_args, per_image,
                    train_and_evaluate)


def options(p) -> None:
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--latent-channels", type=int, default=8)
    p.add_argument("--groups", default="2,4", help="groups per resolution, coarsest first")
    p.add_argument("--stem-stride", type=int, default=4)
    p.add_argument("--top", default="dense", choices=["dense", "pooled"])
    p.add_argument("--stem", default="staged", choices=["staged", "single"])
    p.add_argument("--grad-clip", type=float, default=200.0)
    p.add_argument("--grad-skip", type=float, default=1000.0)
    p.add_argument("--ema", type=float, default=0.999,
                   help="the hierarchy's weight average (0: off); its NLL is paired with the "
                        "weights' own")
    p.add_argument("--seconds", type=float, help="the hierarchy's wall time (default: the conv "
                                                 "VAE's, trained first)")
    p.add_argument("--done", metavar="FILE", help="write the conv VAE's training time here when "
                                                 "its training ends")
    p.add_argument("--until", metavar="FILE",
                   help="train the hierarchy beside a conv VAE run (--models conv --done FILE, "
                        "same seed and --per-image DIR) until it has trained as long: epochs go "
                        "on until FILE holds that time, and the last epoch that ended within it "
                        "is the one evaluated")


def per_resolution(spec, values: list[float]) -> dict:
    """evaluation.per_resolution of the hierarchy `spec` builds for 28x28, rounded."""
    latent = SimpleNamespace(latent=spec.latent.build_for((1, 28, 28)))
    return {k: round(v, 3) for k, v in evaluation.per_resolution(latent, values).items()}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], ["conv", "topdown"], options)
    hierarchy = {"name": "topdown", "width": args.width, "latent_channels": args.latent_channels,
                 "groups": tuple(int(g) for g in args.groups.split(",")),
                 "stem_stride": args.stem_stride, "top": args.top}
    if args.seconds and args.until:
        raise SystemExit("give --seconds or --until, not both")
    seconds = args.seconds
    announce(args.done, None)                       # what an earlier run left there
    for name in filter(None, args.models.split(",")):
        model = vaekit.ModelConfig(network="conv") if name == "conv" else \
            vaekit.ModelConfig(latent=hierarchy, network={
                "name": "topdown", "stem_stride": args.stem_stride, "top": args.top,
                "stem": args.stem}).validate()
        config = fashion_config(model, args.epochs, args.threads, args.seed)
        if name == "topdown":
            config = dataclasses.replace(config, grad_clip=args.grad_clip,
                                         grad_skip=args.grad_skip, ema=args.ema,
                                         epochs=10 ** 6 if seconds or args.until
                                         else args.epochs)
        out = train_and_evaluate(name, config, seconds=seconds if name == "topdown" else None,
                                 deadline=deadline(args.until) if name == "topdown" else None,
                                 done=args.done if name == "conv" else None)
        if name == "topdown":
            out |= {"hierarchy": hierarchy | {"stem": args.stem},
                    "test_kl_per_resolution": per_resolution(model, out["test_kl_layers"]),
                    "active_units_per_resolution": per_resolution(
                        model, out["active_units_layers"])}
        elif args.seconds is None:
            seconds = out["train_seconds"]
        print(json.dumps(out), flush=True)
    pairs = {f"{a} minus {b}": paired_difference(a, b) for a, b in
             (("topdown", "conv"), ("topdown", "topdown-weights"))
             if per_image(a) is not None and per_image(b) is not None}
    print(json.dumps(pairs))


if __name__ == "__main__":
    main()
