"""The cost of variational EM next to amortized inference: seconds per training epoch on the
bundled digits, both measured in the same run, taking turns (the machine's speed drifts).

    python bench/vem_cost.py --epochs 3 --rounds 2
"""

from __future__ import annotations

import argparse
import tempfile
import time

import vaekit


def epoch_seconds(inference: str, epochs: int, root: str) -> float:
    config = vaekit.TrainConfig(model=vaekit.ModelConfig(inference=inference), epochs=epochs,
                                threads=1)
    t0 = time.perf_counter()
    result = vaekit.train(config, f"{root}/{inference}-{time.monotonic_ns()}", progress=False,
                          final_eval=False)
    assert len(result.history) == epochs
    return sum(r["seconds"] for r in result.history) / epochs if result.history else \
        (time.perf_counter() - t0) / epochs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as root:
        for r in range(args.rounds):
            a = epoch_seconds("amortized", args.epochs, root)
            v = epoch_seconds("vem", args.epochs, root)
            print(f"round {r + 1}: amortized {a:.2f} s/epoch, vem {v:.2f} s/epoch, "
                  f"ratio {v / a:.1f}x (digits, 1,293 training images, batch 128, 1 thread)",
                  flush=True)


if __name__ == "__main__":
    main()
