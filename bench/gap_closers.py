"""Benchmark: what closes the gap on Fashion-MNIST (issue 25), through vaekit.train.

Trains, at the same epoch budget, seed and network (dynamic binarization, batch 128, Adam 1e-3,
all 60,000 training images; the 784-200-200-50 tanh MLP of train_fashion_mnist.py, or --network
conv), and evaluates each the same way (test NLL: K=1000 importance samples, the first 1000
fixed-binarized test images; common.py):
  gaussian   the baseline: diagonal Gaussian q, N(0, I), ELBO
  iaf        q a diagonal Gaussian through --flow-steps inverse autoregressive flow steps
  vamp       the VampPrior with --vamp-components pseudo-inputs
  mog        a learned mixture of --mog-components Gaussians as p(z)
  iwae       the IWAE bound, k = --k
  miwae      MIWAE(--m, k / --m): the same number of samples as iwae, in --m independent sets
Prints one JSON line per model (test NLL, ELBO and its terms, active units, training examples/s
and seconds; for gaussian and iaf the gap report's approximation and amortization gaps on the
first --gaps test images, gaps.py), then one line of paired NLL differences over the same test
images with standard errors: iaf - gaussian, vamp - gaussian, mog - gaussian, miwae - iwae
(negative: better). --kl-samples S trains iaf, vamp and mog with their sampled KL averaged over
S draws (the ELBO's own and S - 1 more; bench/prior_diagnosis.py says why).

    python bench/gap_closers.py --epochs 50
    python bench/gap_closers.py --threads 1 --models iaf --per-image runs/pairs &   # side by side
    python bench/gap_closers.py --threads 1 --models gaussian --per-image runs/pairs
    python bench/gap_closers.py --models '' --per-image runs/pairs    # the pairs of what is there
"""

from __future__ import annotations

import dataclasses
import json

import torch

import vaekit
from common import fashion_config, paired_difference, parse_args, per_image, train_and_evaluate
from vaekit.gaps import gap_report
from vaekit.inference import LocalOptimizer

PAIRS = (("iaf", "gaussian"), ("vamp", "gaussian"), ("mog", "gaussian"), ("miwae", "iwae"))


def models(args) -> dict:
    """name -> (ModelConfig, objective, k, m)."""
    def model(**parts):
        return vaekit.ModelConfig(network=args.network, **parts)
    flow = {"name": "gaussian", "flow": "iaf", "flow_steps": args.flow_steps}
    return {"gaussian": (model(), "elbo", 1, 1),
            "iaf": (model(latent=flow), "elbo", 1, 1),
            "vamp": (model(prior={"name": "vamp", "components": args.vamp_components}), "elbo", 1, 1),
            "mog": (model(prior={"name": "mog", "components": args.mog_components}), "elbo", 1, 1),
            "iwae": (model(), "iwae", args.k, 1),
            "miwae": (model(), "miwae", args.k // args.m, args.m)}


def options(p) -> None:
    p.add_argument("--network", default="mlp", choices=["mlp", "conv"])
    p.add_argument("--flow-steps", type=int, default=2)
    p.add_argument("--vamp-components", type=int, default=500, help="pseudo-inputs (the paper's)")
    p.add_argument("--mog-components", type=int, default=10, help="mixture components")
    p.add_argument("--k", type=int, default=8, help="iwae's samples (miwae: m sets of k/m)")
    p.add_argument("--m", type=int, default=2)
    p.add_argument("--kl-samples", type=int, default=1,
                   help="draws of the KL where it is sampled (iaf, vamp, mog; --kl-samples)")
    p.add_argument("--gaps", type=int, default=100, help="test images of the gap report (0: none)")
    p.add_argument("--estep-max-iter", type=int, default=1000)


def gaps(args):
    """The gap report's figures for a trained model: log p(x) (K=1000 from the equal mixture of
    q_phi and q*), the approximation gap log p(x) - L[q*], the amortization gap L[q*] - L[q_phi]."""
    def measure(model, test) -> dict:
        torch.manual_seed(args.seed)
        settings = LocalOptimizer.for_model(model, max_iter=args.estep_max_iter)
        table = gap_report(model, test[:args.gaps], k=1000, settings=settings)
        return {f"gaps_{key}": {k: round(v, 3) for k, v in table[key].items()}
                for key in ("log_px", "elbo_optimized", "elbo_amortized", "approximation_gap",
                            "amortization_gap")} | {"gaps_settings": table["settings"]}
    return measure


def main() -> None:
    args = parse_args(__doc__.splitlines()[0],
                      ["gaussian", "iaf", "vamp", "mog", "iwae", "miwae"], options)
    if args.k % args.m:
        raise SystemExit(f"--k {args.k} is not a multiple of --m {args.m}: miwae would take fewer "
                         "samples than iwae")
    table, results = models(args), {}
    for name in filter(None, args.models.split(",")):
        model, objective, k, m = table[name]
        sampled = name in ("iaf", "vamp", "mog")       # the ELBO's KL has no closed form
        config = dataclasses.replace(fashion_config(model, args.epochs, args.threads, args.seed,
                                                    objective, k), m=m,
                                     kl_samples=args.kl_samples if sampled else 1)
        measure = gaps(args) if args.gaps and name in ("gaussian", "iaf") else None
        results[name] = train_and_evaluate(name, config, extra=measure)
        print(json.dumps({**results[name], "network": args.network, "m": m,
                          "kl_samples": config.kl_samples}), flush=True)
    print(json.dumps({f"{a} minus {b}": paired_difference(a, b) for a, b in PAIRS
                      if per_image(a) is not None and per_image(b) is not None}))


if __name__ == "__main__":
    main()
