"""Benchmark: M2 on Fashion-MNIST against its own classifier trained on the labels alone.

Does M2 beat its classifier network trained on the labels alone? Semi-supervised
Fashion-MNIST with L labelled training images (balanced over the classes, chosen from the seed;
the other 54,000 - L of the 54,000 training images unlabelled, 6,000 held out unlabelled for
vaekit's validation ELBO), for each L and seed:

  (a) M2: vaekit.train on the joint latent (class y, 50 Gaussian style dimensions, y summed out
      exactly), Bernoulli likelihood, MLP networks, dynamic binarization, batch 128, Adam 1e-3,
      --epochs epochs; each step adds a labelled batch with M2's labelled bound and
      alpha log q(y|x), alpha = 0.1 L (TrainConfig.classifier_weight). vaekit returns the
      weights of the epoch with the best validation ELBO (no labels used to choose them).
      Reports the test accuracy of argmax_y q(y|x) on all 10,000 test images, the test NLL
      (importance sampled, --eval-k samples on the first --eval-n test images), the optimizer
      steps it took and its training seconds.
  (b) baseline: the same classifier network, the first 10 outputs of the same encoder with the
      same initial weights (built after torch.manual_seed(seed), as vaekit.train does), trained
      with cross-entropy on the same L labelled images alone: Adam 1e-3, batch min(128, L),
      shuffled passes over the L images, each batch binarized afresh as vaekit's training
      binarizes (vaekit.data.Batches), for as many optimizer steps as the M2 run took. No early
      stopping: a semi-supervised setting has no 6,000 labelled validation images.

Both classifiers are scored on the same fixed-binarized test images; each accuracy's standard
error is sqrt(p (1 - p) / n) over the test images (M2's, from vaekit, uses the sample
standard deviation: larger by sqrt(n / (n - 1)), a factor 1.00005 here). Prints one JSON line per (labels, seed) and
one summary line per label count (means over seeds with the standard error of the mean over
seeds, std / sqrt(seeds); the mean paired difference M2 - baseline with its standard error;
M2's mean test NLL), and appends them to bench/results/m2_fashion.jsonl (or --out), holding a
lock on the file while appending so that concurrent benchmarks take turns.

    python bench/m2_fashion.py --labels 100,1000 --seeds 0,1,2 --epochs 10
        # on 2 shared CPU cores an M2 epoch took about 3.5 minutes: hours in all
    python bench/m2_fashion.py --dataset digits --labels 10,50 --seeds 0,1 --epochs 1 \\
        --eval-k 20 --eval-n 50 --out /tmp/m2_digits.jsonl      # a smoke test, seconds
"""

from __future__ import annotations

import argparse
import fcntl
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import vaekit
from vaekit import devices
from vaekit.data import Batches
from vaekit.denormals import flushed

RESULTS = Path(__file__).resolve().parent / "results" / "m2_fashion.jsonl"
BATCH, LR = 128, 1e-3


def model_config() -> vaekit.ModelConfig:
    return vaekit.ModelConfig(latent={"name": "joint", "classes": 10, "dim": 50,
                                      "discrete": "exact"})


def run_m2(args, labels: int, seed: int, splits) -> tuple[dict, vaekit.TrainResult]:
    config = vaekit.TrainConfig(
        model=model_config(), data=vaekit.DataConfig(args.dataset, labels=labels, seed=seed),
        epochs=args.epochs, batch_size=BATCH, lr=LR, seed=seed, threads=args.threads,
        eval_k=args.eval_k, eval_n=args.eval_n, device=args.device)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="m2_fashion_") as run_dir:
        result = vaekit.train(config, run_dir, progress=False, splits=splits)
        best_epoch = json.loads((Path(run_dir) / "metrics.json").read_text())["best_epoch"]
    wall = time.perf_counter() - start
    test, history = result.test, result.history
    train_seconds = sum(r["seconds"] for r in history)     # training + validation, per epoch
    return {"m2_accuracy": round(test["accuracy"], 4),
            "m2_accuracy_se": round(test["accuracy_se"], 4),
            "m2_test_nll": round(test["nll"], 3), "m2_test_nll_se": round(test["nll_se"], 3),
            "nll_k": test["nll_k"], "nll_n": test["nll_n"],
            "m2_last_valid_accuracy": round(history[-1].get("valid_accuracy", float("nan")), 4),
            "m2_best_epoch": best_epoch, "alpha": result.config.classifier_weight,
            "steps": history[-1]["step"],
            "m2_train_seconds": round(train_seconds, 1),
            "m2_seconds_per_epoch": round(train_seconds / len(history), 1),
            "m2_wall_seconds": round(wall, 1),
            "m2_train_examples_per_s": round(result.examples_per_s)}, result


def test_accuracy(encoder, classes: int, x: torch.Tensor, y, device) -> tuple[float, float]:
    """Accuracy of argmax of the first `classes` encoder outputs, and sqrt(p (1 - p) / n)."""
    encoder.eval()
    with torch.no_grad():
        guess = torch.cat([encoder(x[i:i + 1000].to(device))[:, :classes].argmax(-1).cpu()
                           for i in range(0, len(x), 1000)])
    p = (guess == torch.as_tensor(y).long()).double().mean().item()
    return p, math.sqrt(p * (1 - p) / len(guess))


def run_baseline(args, seed: int, steps: int, splits, resolved: vaekit.ModelConfig) -> dict:
    """The M2 model's encoder, from the same initial weights, trained as a plain classifier
    on the labelled examples alone for `steps` Adam steps."""
    device = devices.resolve(args.device)
    devices.seed(device, seed)                        # as vaekit.train seeds before building
    model = vaekit.build_model(resolved, splits.event_shape).to(device)
    encoder, classes = model.encoder, model.latent.classes
    optimizer = torch.optim.Adam(encoder.parameters(), lr=LR)
    generator = torch.Generator(device).manual_seed(seed)
    batches = Batches(splits.labelled, min(BATCH, len(splits.labelled)), splits.preprocess,
                      splits.levels, generator)
    y = torch.as_tensor(splits.labelled_y, device=device).long()
    start, done = time.perf_counter(), 0
    encoder.train()
    with flushed():                 # subnormals flushed to zero, as vaekit.train runs
        while done < steps:
            for rows, xb in batches.with_rows():
                loss = F.cross_entropy(encoder(xb)[:, :classes], y[rows])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                done += 1
                if done == steps:
                    break
    seconds = time.perf_counter() - start
    p, se = test_accuracy(encoder, classes, splits.test, splits.test_labels, device)
    return {"baseline_accuracy": round(p, 4), "baseline_accuracy_se": round(se, 4),
            "baseline_final_train_loss": round(loss.item(), 4),
            "baseline_epochs": round(steps / len(batches), 1),
            "baseline_seconds": round(seconds, 1)}


def mean_se(values: list[float]) -> tuple[float, float | None]:
    """Mean and the standard error of the mean (std / sqrt(n), None for one value)."""
    mean = statistics.fmean(values)
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else None
    return round(mean, 4), None if se is None else round(se, 4)


def summary(args, labels: int, rows: list[dict]) -> dict:
    m2 = mean_se([r["m2_accuracy"] for r in rows])
    base = mean_se([r["baseline_accuracy"] for r in rows])
    diff = mean_se([r["m2_accuracy"] - r["baseline_accuracy"] for r in rows])
    nll = mean_se([r["m2_test_nll"] for r in rows])
    return {"bench": "m2_fashion", "summary": True, "dataset": args.dataset, "labels": labels,
            "seeds": [r["seed"] for r in rows], "epochs": args.epochs,
            "m2_accuracy_mean": m2[0], "m2_accuracy_mean_se": m2[1],
            "baseline_accuracy_mean": base[0], "baseline_accuracy_mean_se": base[1],
            "m2_minus_baseline": diff[0], "m2_minus_baseline_se": diff[1],
            "m2_test_nll_mean": round(nll[0], 3),
            "m2_test_nll_mean_se": None if nll[1] is None else round(nll[1], 3),
            "nll_k": rows[0]["nll_k"], "nll_n": rows[0]["nll_n"],
            "steps_mean": round(statistics.fmean(r["steps"] for r in rows)),
            "m2_seconds_per_epoch_mean": round(statistics.fmean(
                r["m2_seconds_per_epoch"] for r in rows), 1)}


def emit(row: dict, out: Path) -> None:
    line = json.dumps(row)
    print(line, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)           # concurrent benchmarks append in turn
        f.write(line + "\n")
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labels", type=ints, default=[100, 1000],
                   help="comma-separated label counts (multiples of the 10 classes)")
    p.add_argument("--seeds", type=ints, default=[0, 1, 2], help="comma-separated seeds")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--eval-k", type=int, default=1000, help="importance samples for test NLL")
    p.add_argument("--eval-n", type=int, default=1000, help="test images for the NLL")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--dataset", default="fashion-mnist",
                   help="any labelled vaekit dataset (digits for a quick check)")
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON lines appended here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    dataset = vaekit.load_dataset(args.dataset)
    resolved = model_config().resolved(dataset.event_shape, dataset.levels)
    for labels in args.labels:
        rows = []
        for seed in args.seeds:
            data = vaekit.DataConfig(args.dataset, labels=labels, seed=seed)
            splits = vaekit.prepare(data, resolved.likelihood, dataset)
            m2, result = run_m2(args, labels, seed, splits)
            assert result.splits.labelled is splits.labelled      # the same labelled images
            base = run_baseline(args, seed, m2["steps"], splits, resolved)
            row = {"bench": "m2_fashion", "dataset": args.dataset, "labels": labels,
                   "seed": seed, "epochs": args.epochs, "batch_size": BATCH, "lr": LR,
                   "unlabelled": len(splits.train), "test_n": len(splits.test), **m2, **base,
                   "m2_minus_baseline": round(m2["m2_accuracy"] - base["baseline_accuracy"], 4),
                   "threads": args.threads, "device": str(devices.resolve(args.device)),
                   "torch": torch.__version__}
            rows.append(row)
            emit(row, args.out)
        emit(summary(args, labels, rows), args.out)


if __name__ == "__main__":
    main()
