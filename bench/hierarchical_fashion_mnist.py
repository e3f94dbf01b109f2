"""Benchmark: Burda et al.'s Table 1 ordering on Fashion-MNIST, through vaekit.train.

Trains, at the same epoch budget and seed (dynamic binarization, batch 128, Adam 1e-3,
all 60,000 training images):
  one-layer        784-200-200-50 VAE, ELBO
  two-layer        latents [100, 50], q [[200, 200], [100, 100]], p [[100, 100], [200, 200]], ELBO
  two-layer-iwae5  the same two-layer model trained on the IWAE bound with k=5
and prints one JSON line per model: test NLL (-log p(x), K=1000, first 1000 fixed-binarized test
images), test ELBO on all 10,000 with KL per layer, active units per layer, training time.
A last line says whether the ordering NLL(one-layer) > NLL(two-layer) > NLL(two-layer-iwae5) holds,
with each step's NLL difference and its paired standard error over the same test images.

    python bench/hierarchical_fashion_mnist.py --epochs 50 --warmup-epochs 25
"""

from __future__ import annotations

import dataclasses
import json

import vaekit
from common import fashion_config, paired_difference, parse_args, train_and_evaluate

MODELS = {
    "one-layer": (vaekit.ModelConfig(), "elbo", 1),
    "two-layer": (vaekit.ModelConfig.two_layer(), "elbo", 1),
    "two-layer-iwae5": (vaekit.ModelConfig.two_layer(), "iwae", 5),
}


def options(p) -> None:
    p.add_argument("--posterior-path", default="bottom-up", choices=["bottom-up"],
                   help="inference path of the two-layer models (the top-down ladder is "
                        "retired: bench/deep_fashion_mnist.py trains its successor)")
    p.add_argument("--decoder-sees", default="z1", choices=["z1", "all"],
                   help="p(x | z1) or p(x | z1, z2) in the two-layer models")
    p.add_argument("--warmup-epochs", type=float, default=0.0,
                   help="linear KL warm-up, the same for every model")
    p.add_argument("--batch-size", type=int, default=128)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], MODELS, options)
    results = {}
    for name in args.models.split(","):
        model, objective, k = MODELS[name]
        if model.latent == "hierarchical":
            model = dataclasses.replace(model, posterior_path=args.posterior_path,
                                        decoder_sees=args.decoder_sees)
        config = fashion_config(model, args.epochs, args.threads, args.seed, objective, k,
                                args.warmup_epochs, args.batch_size)
        results[name] = train_and_evaluate(name, config)
        print(json.dumps({**results[name], "posterior_path": model.posterior_path,
                          "decoder_sees": model.decoder_sees}), flush=True)
    if set(results) == set(MODELS):
        nll = {n: r["test_nll"] for n, r in results.items()}
        pairs = {f"{a} minus {b}": paired_difference(a, b) for a, b in
                 (("one-layer", "two-layer"), ("two-layer", "two-layer-iwae5"))}
        print(json.dumps({"burda_table1_ordering_holds":
                          nll["one-layer"] > nll["two-layer"] > nll["two-layer-iwae5"], **nll,
                          **pairs}))


if __name__ == "__main__":
    main()
