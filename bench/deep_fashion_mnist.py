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
"""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import vaekit
from vaekit import evaluation
from common import fashion_config, paired_difference, parse_args, per_image, train_and_evaluate


def options(p) -> None:
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--latent-channels", type=int, default=4)
    p.add_argument("--groups", default="1,2,2", help="groups per resolution, coarsest first")
    p.add_argument("--stem-stride", type=int, default=2)
    p.add_argument("--grad-clip", type=float, default=200.0)
    p.add_argument("--grad-skip", type=float, default=1000.0)
    p.add_argument("--ema", type=float, default=0.999,
                   help="the hierarchy's weight average (0: off); its NLL is paired with the "
                        "weights' own")
    p.add_argument("--seconds", type=float, help="the hierarchy's wall time (default: the conv "
                                                 "VAE's, trained first)")


def per_resolution(spec, values: list[float]) -> dict:
    """evaluation.per_resolution of the hierarchy `spec` builds for 28x28, rounded."""
    latent = SimpleNamespace(latent=spec.latent.build_for((1, 28, 28)))
    return {k: round(v, 3) for k, v in evaluation.per_resolution(latent, values).items()}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], ["conv", "topdown"], options)
    hierarchy = {"name": "topdown", "width": args.width, "latent_channels": args.latent_channels,
                 "groups": tuple(int(g) for g in args.groups.split(",")),
                 "stem_stride": args.stem_stride}
    seconds = args.seconds
    for name in filter(None, args.models.split(",")):
        model = vaekit.ModelConfig(network="conv") if name == "conv" else \
            vaekit.ModelConfig(latent=hierarchy).validate()
        config = fashion_config(model, args.epochs, args.threads, args.seed)
        if name == "topdown":
            config = dataclasses.replace(config, grad_clip=args.grad_clip,
                                         grad_skip=args.grad_skip, ema=args.ema,
                                         epochs=10 ** 6 if seconds else args.epochs)
        out = train_and_evaluate(name, config, seconds=seconds if name == "topdown" else None)
        if name == "topdown":
            out |= {"hierarchy": hierarchy,
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
