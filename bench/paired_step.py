"""Benchmark: vaekit's training step against a hand-written one, at the same moments.

This machine's speed drifts by tens of percent from one minute to the next, so figures taken
minutes apart cannot be compared. Here the contenders take turns inside one process: blocks of
10 steps of each, in rotation, on the same Fashion-MNIST batches (dynamically binarized, batch
128). Each gets the Burda one-layer model with its own Adam. Prints one JSON line: examples/s of
each, and vaekit's ratio to the hand-written step of the same precision.

Contenders:
- hand-float32: train_fashion_mnist.hand_step, the step of that benchmark's reference loop
  (nn.Sequential MLPs, softplus scale, analytic KL, BCE with logits, fused Adam);
- hand-bfloat16: the same under torch.autocast(bfloat16);
- vaekit-float32, vaekit-bfloat16: vaekit.training.VAEStep, the step `vaekit train
  --precision ...` takes (the loss, the NaN guard, fused Adam).

    python bench/paired_step.py --blocks 40
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

import vaekit
from train_fashion_mnist import hand_step
from vaekit.training.guard import Guard
from vaekit.training.vae_step import VAEStep


def vaekit_step(precision: str):
    """The step `vaekit train` takes on a batch: training.VAEStep (the loss of the inference
    scheme, the NaN guard, fused Adam skipping non-finite steps on the device)."""
    config = vaekit.TrainConfig(model=vaekit.ModelConfig(), precision=precision)
    torch.manual_seed(0)
    model = vaekit.build_model(config.model, (1, 28, 28))
    step = VAEStep(model, config, 60000, 469, Guard(10, print), parallel=False)
    count = iter(range(10 ** 9))
    return lambda xb: step(None, xb, next(count))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--blocks", type=int, default=40, help="rotations of 10 steps each")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    splits = vaekit.prepare(vaekit.DataConfig("fashion-mnist", valid_fraction=0.0), "bernoulli")
    train = splits.dataset.unit(splits.train)                            # [N, 1, 28, 28]
    rng = np.random.default_rng(0)
    images = [torch.from_numpy((rng.random((128, 1, 28, 28), dtype=np.float32)
                                < train[rng.integers(0, len(train), 128)]).astype(np.float32))
              for _ in range(200)]
    # the same batches: images for vaekit, their flat views [128, 784] for the hand-written MLP
    batches = {"vaekit": images, "hand": [x.view(128, 784) for x in images]}
    steps = {f"{who}-{precision}": make(precision)
             for who, make in (("hand", lambda p: hand_step(0, p)), ("vaekit", vaekit_step))
             for precision in ("float32", "bfloat16")}
    seconds = dict.fromkeys(steps, 0.0)
    for name, step in steps.items():            # warm-up
        for xb in batches[name.split("-")[0]][:30]:
            step(xb)
    for block in range(args.blocks):
        first = (block * 10) % 200
        for name, step in steps.items():
            chunk = batches[name.split("-")[0]][first:first + 10]
            start = time.perf_counter()
            for xb in chunk:
                step(xb)
            seconds[name] += time.perf_counter() - start
    rate = {name: round(args.blocks * 10 * 128 / s) for name, s in seconds.items()}
    print(json.dumps({"bench": "paired_step", "threads": args.threads, "blocks": args.blocks,
                      **{f"{n}_examples_per_s": r for n, r in rate.items()},
                      "vaekit_to_hand_float32": round(rate["vaekit-float32"] / rate["hand-float32"], 3),
                      "vaekit_to_hand_bfloat16": round(rate["vaekit-bfloat16"] / rate["hand-bfloat16"], 3),
                      "vaekit_bfloat16_to_vaekit_float32":
                          round(rate["vaekit-bfloat16"] / rate["vaekit-float32"], 3),
                      "vaekit_bfloat16_to_hand_float32":
                          round(rate["vaekit-bfloat16"] / rate["hand-float32"], 3),
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
