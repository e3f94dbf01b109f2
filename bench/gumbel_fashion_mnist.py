"""Benchmark: the Gumbel-softmax VAE on Fashion-MNIST next to the Gaussian VAE, through vaekit.

Encoder 784-512-256, decoder 256-512-784 (tanh) for all three, same epochs and seed:
  relaxed           20 categorical variables x 10 classes, relaxed one-hot samples in training
  straight-through  the same with hard one-hot forward, relaxed gradient backward
  gaussian          50 Gaussian latents (the core model on the same networks)
Temperature: tau = max(0.5, exp(-3e-5 step)), updated every 500 steps. One JSON line per model:
test NLL (-log p(x), K=1000 hard samples from q, first 1000 fixed-binarized test images), test
ELBO with hard samples on all 10,000, KL, final temperature, training time.

    python bench/gumbel_fashion_mnist.py --epochs 50
"""

from __future__ import annotations

import json

import vaekit
from common import fashion_config, parse_args, train_and_evaluate

NETS = {"name": "mlp", "encoder_hidden": (512, 256), "decoder_hidden": (256, 512)}
MODELS = {
    "relaxed": vaekit.ModelConfig(latent="categorical", network=NETS),
    "straight-through": vaekit.ModelConfig(
        latent={"name": "categorical", "straight_through": True}, network=NETS),
    "gaussian": vaekit.ModelConfig(latent={"name": "gaussian", "dim": 50}, network=NETS),
}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], MODELS)
    for name in args.models.split(","):
        config = fashion_config(MODELS[name], args.epochs, args.threads, args.seed)
        print(json.dumps(train_and_evaluate(name, config)), flush=True)


if __name__ == "__main__":
    main()
