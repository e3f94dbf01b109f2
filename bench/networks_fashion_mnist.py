"""Benchmark: do convolutions pay? The same VAE (50 Gaussian latents, Bernoulli likelihood,
dynamic binarization, batch 128, Adam 1e-3, same seed) on Fashion-MNIST with the Burda MLP and
with `--network conv` (and optionally `resnet`): test NLL (K=1000, first 1000 test images), the
paired NLL difference over the same images with its standard error, the test ELBO and the
training examples/s of each. Prints one JSON line per model and one with the differences.

    python bench/networks_fashion_mnist.py --epochs 50
"""

from __future__ import annotations

import json

import vaekit
from common import fashion_config, paired_difference, parse_args, train_and_evaluate

MODELS = {"mlp": vaekit.ModelConfig(network="mlp"),
          "conv": vaekit.ModelConfig(network="conv"),
          "resnet": vaekit.ModelConfig(network="resnet")}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], MODELS)
    names = args.models.split(",")
    for name in names:
        config = fashion_config(MODELS[name], args.epochs, args.threads, args.seed)
        print(json.dumps(train_and_evaluate(name, config)), flush=True)
    if "mlp" in names:
        print(json.dumps({f"mlp minus {n}": paired_difference("mlp", n) for n in names
                          if n != "mlp"}), flush=True)


if __name__ == "__main__":
    main()
