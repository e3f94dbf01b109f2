"""Benchmark: vaekit's training loop against a careful hand-written one, part by part, in turns.

This machine's speed drifts by tens of percent from one minute to the next, so the contenders
take turns inside one process: --rounds rounds of one block of --block steps of each, on
Fashion-MNIST (dynamic binarization, batch 128, Adam 1e-3, --threads threads). The networks:
- mlp:  the Burda one-layer model (train_fashion_mnist.hand_step's, 784-200-200-50 tanh);
- conv: vaekit's default conv network (channels 32, 64, leaky ReLU, 50 latents) and `conv_step`
  below, the same shape written by hand (nn.Sequential, softplus scale, analytic KL, BCE with
  logits, fused Adam): the conv reference loop.
Each step's parts are timed (perf_counter, per part):
  draw       the batch: vaekit's Batches (a torch.Generator's shuffle, bytes binarized,
             data/draws.py); the hand loop's numpy permutation and float-uniform binarization
  forward    the loss (vaekit: the inference scheme's loss over torch.distributions objects)
  backward   zero_grad and backward
  guard      vaekit's NaN guard (training/guard.py); the hand loop has none
  optimizer  Adam's step (fused in both)
  counters   vaekit's sums of the logged values
and, in separate blocks, the loop as it runs: vaekit's epoch body (training/loop.py: `_epoch`)
and the hand loop, each over its own draws. Prints one JSON line: per-step milliseconds of each
part (medians over rounds), the loops' examples/s and the ratio vaekit / hand per round.

    python bench/loop_parts.py --network mlp
    python bench/loop_parts.py --network conv --rounds 7
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import vaekit
from train_fashion_mnist import hand_parts
from vaekit.training import loop

PARTS = ("draw", "forward", "backward", "guard", "optimizer", "counters")


def conv_step(seed: int = 0):
    """One training step of a careful hand-written conv VAE of vaekit's default conv shape:
    Conv2d(4, stride 2, padding 1) 1 -> 32 -> 64 channels with leaky ReLU, a linear layer to
    (mu, pre-softplus sigma) of 50 latents; the decoder its mirror with transposed convolutions;
    analytic KL, BCE with logits, fused Adam. Returns (forward, optimizer): forward(x) -> loss."""
    torch.manual_seed(seed)
    enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(), nn.Conv2d(32, 64, 4, 2, 1),
                        nn.LeakyReLU(), nn.Flatten(), nn.Linear(64 * 7 * 7, 100))
    dec = nn.Sequential(nn.Linear(50, 64 * 7 * 7), nn.Unflatten(1, (64, 7, 7)), nn.LeakyReLU(),
                        nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.LeakyReLU(),
                        nn.ConvTranspose2d(32, 1, 4, 2, 1))
    opt = torch.optim.Adam([*enc.parameters(), *dec.parameters()], lr=1e-3, fused=True)

    def forward(xb):
        mu, pre = enc(xb).chunk(2, -1)
        sigma = F.softplus(pre)
        z = mu + sigma * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(dec(z), xb, reduction="none").sum((1, 2, 3))
        kl = 0.5 * (mu.pow(2) + sigma.pow(2) - 1).sum(-1) - sigma.log().sum(-1)
        return (rec + kl).mean()
    return forward, opt


class Hand:
    """The hand-written loop: numpy's shuffle and float-uniform binarization, then its step."""

    def __init__(self, network: str, x: np.ndarray, seed: int = 0, precision: str = "float32"):
        self.forward, self.opt = (hand_parts(seed, precision) if network == "mlp"
                                  else conv_step(seed))
        self.shape = (-1, 784) if network == "mlp" else (-1, 1, 28, 28)
        self.x, self.rng = x, np.random.default_rng(seed)

    def epoch(self):
        """One epoch's batches of 128 (the last one shorter)."""
        perm = self.rng.permutation(len(self.x))
        for i in range(0, len(self.x), 128):
            xb = self.x[perm[i:i + 128]]
            u = self.rng.random(xb.shape, dtype=np.float32)
            yield torch.from_numpy((u < xb).astype(np.float32)).view(self.shape)

    def batches(self):
        """Full batches, epoch after epoch."""
        while True:
            yield from (xb for xb in self.epoch() if len(xb) == 128)

    def step(self, xb, times=None):
        t0 = time.perf_counter()
        loss = self.forward(xb)
        t1 = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        self.opt.step()
        if times is not None:
            t3 = time.perf_counter()
            times["forward"] += t1 - t0
            times["backward"] += t2 - t1
            times["optimizer"] += t3 - t2


class Vaekit:
    """vaekit's loop for the same model, built as `vaekit.train` builds it (training/loop.py)."""

    def __init__(self, network: str, threads: int, seed: int = 0):
        model = vaekit.ModelConfig(network=network)
        config = vaekit.TrainConfig(model=model, data=vaekit.DataConfig(
            "fashion-mnist", valid_fraction=0.0), batch_size=128, lr=1e-3, seed=seed,
            threads=threads)
        config, _, self.splits, _ = loop._setup(config, "unused", False, None, None, None, None)
        self.model, self.data, self.step = loop._build(config, self.splits, None,
                                                       torch.device("cpu"), False)
        self.run = SimpleNamespace(epoch=0, step=0)

    def batches(self):
        while True:
            yield from self.data.with_rows()

    def parts(self, rows, xb, sums, times):
        """The step of training/vae_step.py and training/step.py, a part at a time."""
        s, opt = self.step, self.step.optimizers[""]
        t0 = time.perf_counter()
        with s.precision:
            loss, values, _ = s.loss(xb, s.beta, None)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        s.scaler.scale(loss).backward()
        t2 = time.perf_counter()
        ok = s.guard.check(self.model, loss, s.overflow_limit)
        t3 = time.perf_counter()
        if ok:
            opt.step()
        t4 = time.perf_counter()
        counted, _ = s.counted(ok, values, len(xb))
        sums = sums + counted.to(torch.float64)
        t5 = time.perf_counter()
        for part, seconds in zip(PARTS[1:], (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            times[part] += seconds
        return sums

    def loop(self, batches, steps: int) -> None:
        """`steps` steps of the epoch body that `vaekit.train` runs (loop._epoch)."""
        loop._epoch(self.run, self.step, Block(itertools.islice(batches, steps)),
                    loop.Throughput())


class Block:
    """Steps of batches as loop._epoch reads its progress bar (disabled)."""
    disable = True

    def __init__(self, batches):
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)


def timed(batches, steps: int, step) -> dict:
    """Per-part seconds over `steps` steps: the draw, then `step(batch, times)`'s parts."""
    times = dict.fromkeys(PARTS, 0.0)
    for _ in range(steps):
        t = time.perf_counter()
        batch = next(batches)
        times["draw"] += time.perf_counter() - t
        step(batch, times)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--network", default="mlp", choices=["mlp", "conv"])
    p.add_argument("--rounds", type=int, default=9)
    p.add_argument("--block", type=int, default=100, help="steps of each contender per turn")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    vk = Vaekit(args.network, args.threads)
    x = vk.splits.dataset.unit(vk.splits.train).reshape(len(vk.splits.train), 784)
    hand = Hand(args.network, x)
    vk_batches, hand_batches = vk.batches(), hand.batches()
    vk_loop_batches, hand_loop_batches = vk.batches(), hand.batches()
    sums = [torch.zeros(2, dtype=torch.float64)]

    def vk_step(batch, times):
        sums[0] = vk.parts(*batch, sums[0], times)

    def hand_loop():
        for _ in range(args.block):
            hand.step(next(hand_loop_batches))

    parts = {"vaekit": [], "hand": []}
    loops = {"vaekit": [], "hand": []}
    for r in range(args.rounds + 1):             # round 0 warms both up, uncounted
        v = timed(vk_batches, args.block, vk_step)
        h = timed(hand_batches, args.block, hand.step)
        t0 = time.perf_counter()
        vk.loop(vk_loop_batches, args.block)
        t1 = time.perf_counter()
        hand_loop()
        t2 = time.perf_counter()
        if r:
            parts["vaekit"].append(v)
            parts["hand"].append(h)
            loops["vaekit"].append(args.block * 128 / (t1 - t0))
            loops["hand"].append(args.block * 128 / (t2 - t1))

    def ms(rounds):
        return {part: round(statistics.median(t[part] for t in rounds) / args.block * 1e3, 3)
                for part in PARTS}
    ratios = [v / h for v, h in zip(loops["vaekit"], loops["hand"])]
    print(json.dumps({"network": args.network, "threads": args.threads, "block": args.block,
                      "rounds": args.rounds, "ms_per_step": {k: ms(v) for k, v in parts.items()},
                      "loop_examples_per_s": {k: [round(x) for x in v] for k, v in loops.items()},
                      "loop_ratios": [round(x, 3) for x in ratios],
                      "loop_ratio_median": round(statistics.median(ratios), 3)}))


if __name__ == "__main__":
    main()
