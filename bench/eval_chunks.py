"""Benchmark: importance-sampled log p(x) (K=1000, the first --n fixed-binarized Fashion-MNIST
test images) with the old CPU chunks (8192 decoder rows, whatever the network) against the new
ones (evaluation.rows_for: at most MAX_FLOATS decoder outputs per chunk), in turns in one
process, on a model trained for --epochs epochs. Prints one JSON line: each turn's seconds, the
medians' ratio, and the two estimates' difference with its Monte Carlo standard error (the
chunks differ, so the draws differ: the difference should be within a few of those errors).

    python bench/eval_chunks.py --network conv --n 1000
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time

import torch

import vaekit
from common import fashion_config
from vaekit.evaluation import floats_per_row, log_likelihood, rows_for


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--network", default="mlp", choices=["mlp", "conv", "resnet"])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    config = fashion_config(vaekit.ModelConfig(network=args.network), args.epochs, args.threads,
                            0)
    with tempfile.TemporaryDirectory() as d:
        result = vaekit.train(config, d, progress=False, final_eval=False)
    model, test = result.model.eval(), result.splits.test[:args.n]
    chunks = {"old": 8192, "new": rows_for(model)}
    seconds, estimates = {k: [] for k in chunks}, {}
    for r in range(args.repeats):
        for name, rows in (chunks.items() if r % 2 == 0 else reversed(chunks.items())):
            torch.manual_seed(r)
            start = time.perf_counter()
            estimates[name] = log_likelihood(model, test, k=1000, max_rows=rows)
            seconds[name].append(time.perf_counter() - start)
    old, new = estimates["old"], estimates["new"]
    d = new.per_example - old.per_example
    print(json.dumps({
        "network": args.network, "n": args.n, "k": 1000, "threads": args.threads,
        "floats_per_row": floats_per_row(model), "rows": chunks,
        "seconds": {k: [round(s, 2) for s in v] for k, v in seconds.items()},
        "old_over_new": round(statistics.median(seconds["old"]) /
                              statistics.median(seconds["new"]), 3),
        "test_nll": {k: round(-v.mean, 3) for k, v in estimates.items()},
        "new_minus_old_nats": round(d.mean().item(), 4),
        "monte_carlo_se": round(math.sqrt(old.mean_mc_se ** 2 + new.mean_mc_se ** 2), 4),
        "per_image_spread_se": round(d.std().item() / math.sqrt(len(d)), 4)}))


if __name__ == "__main__":
    main()
