"""Benchmark: 8-bit colour images scored three ways (issue "8-bit images scored honestly").

The same convolutional VAE (50 Gaussian latents, conv network, Adam 1e-3, batch 64, same seed
and epochs) on the embedded photo patches (32x32x3; and on CIFAR-10 when it is in the cache,
with --dataset cifar10), with
  (a) dlogistic-mix: PixelCNN++'s discretized logistic mixture (10 components), on the levels;
  (b) dgaussian: the discretized Gaussian, on the levels;
  (c) gaussian: the continuous Gaussian on uniformly dequantized data (x = (k + u) / 256),
      whose bits/dim add the log(256) change of scale, so that all three are bits of the
      same 8-bit images (for (c) an upper bound on them, as dequantization makes it).
Prints one JSON line per model: test bits/dim from importance-sampled log p(x) (K=1000, every
test image) with its standard error, test ELBO in bits/dim, training examples/s and the peak
resident memory of training (and the peak allocated on a GPU), then the paired differences.

    python bench/colour.py --epochs 10        # about 20 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile

import torch

import vaekit
from speed import PeakRSS
from vaekit import devices
from vaekit.evaluation import elbo_report, log_likelihood

LIKELIHOODS = {"dlogistic-mix": {"name": "dlogistic-mix", "mixtures": 10},
               "dgaussian": "dgaussian", "gaussian": "gaussian"}


def run(name: str, args) -> tuple[dict, torch.Tensor]:
    config = vaekit.TrainConfig(
        model=vaekit.ModelConfig(likelihood=LIKELIHOODS[name], network="conv"),
        data=vaekit.DataConfig(args.dataset, valid_fraction=0.0, seed=args.seed),
        epochs=args.epochs, batch_size=64, lr=1e-3, seed=args.seed, threads=args.threads,
        device=args.device)
    device = devices.resolve(args.device)
    devices.reset_peak_memory(device)
    with PeakRSS() as mem, tempfile.TemporaryDirectory() as run_dir:
        result = vaekit.train(config, run_dir, progress=False, final_eval=False)
    model, test = result.model.eval(), result.splits.test[:args.n]
    dim = math.prod(model.event_shape)
    scale = dim * math.log(256) if name == "gaussian" else 0.0     # dequantized: + log 256
    torch.manual_seed(args.seed)
    ll = log_likelihood(model, test, k=args.k)
    report = elbo_report(model, test)
    per_image_bits = (-ll.per_example + scale) / (dim * math.log(2))
    row = {"dataset": args.dataset, "likelihood": name, "epochs": args.epochs,
           "test_bits_per_dim": round(per_image_bits.mean().item(), 4),
           "test_bits_per_dim_se": round(per_image_bits.std().item() / len(test) ** 0.5, 4),
           "test_elbo_bits_per_dim": round((-report.elbo + scale) / (dim * math.log(2)), 4),
           "k": args.k, "n": len(test),
           "train_examples_per_s": round(result.examples_per_s),
           "train_peak_rss_mb": round(mem.peak),
           "train_peak_device_mb": round((devices.peak_memory(device) or 0) / 2 ** 20),
           "device": str(device), "levels": result.splits.levels}
    return row, per_image_bits


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="photo-patches", help="photo-patches | cifar10")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--n", type=int, help="test images (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--models", default=",".join(LIKELIHOODS))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    bits = {}
    for name in args.models.split(","):
        row, bits[name] = run(name, args)
        print(json.dumps(row), flush=True)
    names = list(bits)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            d = bits[a] - bits[b]
            print(json.dumps({"difference": f"{a} - {b}", "bits_per_dim": round(d.mean().item(), 4),
                              "se": round(d.std().item() / len(d) ** 0.5, 4)}), flush=True)


if __name__ == "__main__":
    main()
