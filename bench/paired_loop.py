"""Benchmark: vaekit.train against a careful hand-written loop, whole epochs in turns, each
contender in its own process (issue 27).

../shared/bench/paired_loop.py alternates epochs of the two in ONE process, so that the
machine's drift falls on both alike. Here the turns are the same, but each contender lives in
its own worker process: a process-wide setting of one (vaekit's allocator.py keeps freed memory
in the process; flushing subnormal floats) cannot speed up the other, as it would in one
process. Each round trains one more epoch of each (the order swapped every round): vaekit
through `vaekit.train(..., resume=True)`, timed over its steps (TrainResult.examples_per_s);
the hand loop over all its steps too, numpy shuffle and float-uniform binarization included.
Then, with --eval, both models are scored by the same evaluator (vaekit's, K=1000 importance
samples on the first 1000 fixed-binarized test images; the hand model's weights copied into
vaekit's network of the same shape) and their paired NLL difference printed.
- mlp:  train_fashion_mnist.hand_parts (784-200-200-50 tanh, Bernoulli, batch 128, fused Adam);
- conv: loop_parts.conv_step (vaekit's default conv network written by hand).
Prints one JSON line: each round's examples/s and ratio vaekit / hand, and their median.

    python bench/paired_loop.py --network mlp --rounds 5
    python bench/paired_loop.py --network conv --rounds 5 --eval
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import statistics
import tempfile
import time

import torch

import vaekit


def data():
    splits = vaekit.prepare(vaekit.DataConfig("fashion-mnist", valid_fraction=0.0), "bernoulli")
    return splits, splits.dataset.unit(splits.train).reshape(len(splits.train), 784)


class HandLoop:
    """The hand-written loop (loop_parts.Hand), trained an epoch at a time; its weights in
    vaekit's order."""

    def __init__(self, network: str, threads: int, precision: str):
        from loop_parts import Hand
        torch.set_num_threads(threads)
        torch.set_flush_denormal(True)
        self.hand = Hand(network, data()[1], precision=precision)

    def epoch(self) -> float:
        start, n = time.perf_counter(), 0
        for xb in self.hand.epoch():
            self.hand.step(xb)
            n += len(xb)
        return n / (time.perf_counter() - start)

    def weights(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.hand.opt.param_groups[0]["params"]]


class VaekitLoop:
    """vaekit.train, resumed for one more epoch each round."""

    def __init__(self, network: str, threads: int, precision: str):
        self.config = vaekit.TrainConfig(
            model=vaekit.ModelConfig(network=network), data=vaekit.DataConfig(
                "fashion-mnist", valid_fraction=0.0), batch_size=128, lr=1e-3, seed=0,
            threads=threads, precision=precision)
        self.dir = tempfile.TemporaryDirectory()
        self.epochs, self.result = 0, None

    def epoch(self) -> float:
        self.epochs += 1
        self.result = vaekit.train(self.config if self.epochs == 1 else None, self.dir.name,
                                   resume=self.epochs > 1, epochs=self.epochs, progress=False,
                                   final_eval=False,
                                   splits=self.result.splits if self.result else None)
        return self.result.examples_per_s

    def weights(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.result.model.parameters()]


def worker(kind: str, args: dict, pipe) -> None:
    """Serve "epoch" (-> examples/s) and "weights" (-> the parameters) until "stop"."""
    import sys
    sys.path.insert(0, args["bench"])
    loop = (HandLoop if kind == "hand" else VaekitLoop)(args["network"], args["threads"],
                                                        args["precision"])
    for command in iter(pipe.recv, "stop"):
        pipe.send(loop.epoch() if command == "epoch" else loop.weights())


def nll(network: str, weights: list[torch.Tensor], test: torch.Tensor) -> torch.Tensor:
    """-log p(x) per image, K=1000, by vaekit's evaluator for a model with these weights."""
    from vaekit.evaluation import log_likelihood
    model = vaekit.build_model(vaekit.ModelConfig(network=network), (1, 28, 28))
    with torch.no_grad():
        for p, w in zip(model.parameters(), weights, strict=True):
            p.copy_(w)
    torch.manual_seed(0)
    return -log_likelihood(model.eval(), test, k=1000).per_example


def main() -> None:
    import os
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--network", default="mlp", choices=["mlp", "conv"])
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--eval", action="store_true", help="both models' test NLL after the rounds")
    args = p.parse_args()
    if args.network == "conv" and args.precision != "float32":
        raise SystemExit("the hand conv loop is float32 only")
    shared = vars(args) | {"bench": os.path.dirname(os.path.abspath(__file__))}
    ctx = mp.get_context("spawn")
    pipes, procs = {}, []
    for kind in ("vaekit", "hand"):
        mine, theirs = ctx.Pipe()
        procs.append(ctx.Process(target=worker, args=(kind, shared, theirs), daemon=True))
        procs[-1].start()
        pipes[kind] = mine
    speed = {"vaekit": [], "hand": []}
    for r in range(args.rounds):
        for kind in (("vaekit", "hand") if r % 2 == 0 else ("hand", "vaekit")):
            pipes[kind].send("epoch")
            speed[kind].append(pipes[kind].recv())
    ratios = [v / h for v, h in zip(speed["vaekit"], speed["hand"])]
    out = {"network": args.network, "threads": args.threads, "precision": args.precision,
           "rounds": args.rounds, "ratio_median": round(statistics.median(ratios), 3),
           "ratios": [round(x, 3) for x in ratios],
           "vaekit_ex_s": [round(x) for x in speed["vaekit"]],
           "hand_ex_s": [round(x) for x in speed["hand"]]}
    if args.eval:
        torch.set_num_threads(args.threads)
        test = data()[0].test[:1000]
        both = {}
        for kind in ("vaekit", "hand"):
            pipes[kind].send("weights")
            both[kind] = nll(args.network, pipes[kind].recv(), test)
        d = both["vaekit"] - both["hand"]
        out.update({f"{k}_test_nll": round(v.mean().item(), 3) for k, v in both.items()},
                   vaekit_minus_hand=round(d.mean().item(), 3),
                   difference_se=round(d.std().item() / math.sqrt(len(d)), 3))
    for pipe in pipes.values():
        pipe.send("stop")
    for proc in procs:
        proc.join()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
