"""Benchmark: the Burda et al. one-layer VAE on Fashion-MNIST, trained through vaekit.train.

Settings: 784-200-200-50 (tanh), Bernoulli likelihood, dynamic binarization, batch 128,
Adam 1e-3, all 60,000 training images, 2 threads. Prints one JSON line:
- train_examples_per_s: timed over the training steps after 20 warm-up steps (no validation);
- test_nll: -log p(x), K=1000 importance samples, first 1000 fixed-binarized test images;
- test_elbo: on all 10,000 test images (with its log-likelihood and KL terms), and active units.
With --reference it first times a plain hand-written PyTorch loop of the same model (fused Adam,
per-example BCE-with-logits, analytic KL, float-uniform binarization) for the same number of
epochs in the same process, so that vaekit's figure can be read against the same machine at
nearly the same moment (this machine's speed varies by tens of percent from minute to minute).

    python bench/train_fashion_mnist.py --epochs 5
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

import vaekit
from common import fashion_config, train_and_evaluate


def hand_parts(seed: int = 0, precision: str = "float32"):
    """A careful hand-written loss of the same model (no vaekit code): nn.Sequential MLPs,
    softplus scale, analytic KL, per-example BCE-with-logits, under torch.autocast(bfloat16)
    when asked; and its fused Adam. Returns (forward, optimizer): forward(x_batch) -> loss."""
    import torch.nn.functional as F
    from torch import nn
    torch.manual_seed(seed)

    def mlp(a, c):
        return nn.Sequential(nn.Linear(a, 200), nn.Tanh(), nn.Linear(200, 200), nn.Tanh(),
                             nn.Linear(200, c))
    enc, dec = mlp(784, 100), mlp(50, 784)
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3, fused=True)
    low = precision == "bfloat16"

    def forward(xb):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low):
            mu, pre = enc(xb).float().chunk(2, -1)
            sigma = F.softplus(pre)
            z = mu + sigma * torch.randn_like(mu)
            logits = dec(z).float()
        rec = F.binary_cross_entropy_with_logits(logits, xb, reduction="none").sum(-1)
        kl = 0.5 * (mu.pow(2) + sigma.pow(2) - 1).sum(-1) - sigma.log().sum(-1)
        return (rec + kl).mean()
    return forward, opt


def hand_step(seed: int = 0, precision: str = "float32"):
    """One training step of the hand-written loop (hand_parts): step(x_batch)."""
    forward, opt = hand_parts(seed, precision)

    def step(xb):
        loss = forward(xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step


def reference_loop(train_x, threads: int, epochs: int = 1, seed: int = 0) -> float:
    """Examples/s of the hand-written loop (hand_step, float-uniform binarization of each
    batch), after 20 steps."""
    import numpy as np
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    step = hand_step(seed)
    rng = np.random.default_rng(seed)
    steps, examples, start = 0, 0, None
    for _ in range(epochs):
        perm = rng.permutation(len(train_x))
        for i in range(0, len(train_x), 128):
            xb = train_x[perm[i:i + 128]]
            step(torch.from_numpy((rng.random(xb.shape, dtype=np.float32) < xb)
                                  .astype(np.float32)))
            steps += 1
            if steps == 20:
                start = time.perf_counter()
            elif steps > 20:
                examples += len(xb)
    return examples / (time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--objective", default="elbo")
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                   help="the training step's matrix products (vaekit train --precision)")
    p.add_argument("--reference", action="store_true",
                   help="also time a hand-written loop of the same model, same epochs")
    args = p.parse_args()
    reference = None
    if args.reference:
        splits = vaekit.prepare(vaekit.DataConfig("fashion-mnist", valid_fraction=0.0),
                                "bernoulli")
        train_x = splits.dataset.unit(splits.train).reshape(len(splits.train), 784)
        reference = reference_loop(train_x, args.threads, args.epochs, args.seed)
    config = fashion_config(vaekit.ModelConfig(), args.epochs, args.threads, args.seed,
                            args.objective, args.k, precision=args.precision)
    out = {"bench": "train_fashion_mnist", "threads": args.threads,
           **train_and_evaluate("one-layer", config)}
    if reference is not None:
        out.update(reference_examples_per_s=round(reference),
                   ratio_to_reference=round(out["train_examples_per_s"] / reference, 3))
    print(json.dumps({**out, "torch": torch.__version__, "machine": platform.machine()}))


if __name__ == "__main__":
    main()
