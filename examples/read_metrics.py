"""Read a finished run's metrics: a table of the epochs and a PNG of the training curve.

    python examples/read_metrics.py runs/example-api     # writes runs/example-api/curve.png

A run folder holds metrics.jsonl (one JSON object per epoch, appended as training goes) and
metrics.json (the test evaluation of the best epoch, written at the end). Values are in nats.
"""

import argparse
import json
from pathlib import Path

from matplotlib.figure import Figure      # no pyplot: draws to a file, needs no display

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("run", type=Path, help="a run folder")
parser.add_argument("--out", type=Path, help="the PNG (default: RUN/curve.png)")
args = parser.parse_args()

epochs = [json.loads(line) for line in (args.run / "metrics.jsonl").read_text().splitlines()
          if line.strip()]
print(f"{'epoch':>5} {'train_elbo':>11} {'valid_elbo':>11} {'valid_kl':>9}")
for e in epochs:
    print(f"{e['epoch']:5d} {e['train_elbo']:11.3f} {e['valid_elbo']:11.3f} {e['valid_kl']:9.3f}")

test = json.loads((args.run / "metrics.json").read_text())["test"]
print("the best epoch's test metrics:")
for key in ("elbo", "kl", "nll", "log_px", "rec_log_lik", "log_lik", "nll_bits_per_dim"):
    if key in test:                       # some names differ between vaekit versions
        print(f"  {key:>16} {test[key]:.3f}")

fig = Figure(figsize=(5, 3.5), layout="tight")
ax = fig.subplots()
x = [e["epoch"] for e in epochs]
ax.plot(x, [e["train_elbo"] for e in epochs], "o-", label="train ELBO")
ax.plot(x, [e["valid_elbo"] for e in epochs], "o-", label="validation ELBO")
ax.set(xlabel="epoch", ylabel="nats per example")
ax.legend()
out = args.out or args.run / "curve.png"
fig.savefig(out, dpi=100)
print("curve:", out)
