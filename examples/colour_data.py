"""Colour images scored as 8-bit: the embedded photo patches (32x32x3, no download), the conv
network and the discretized logistic mixture likelihood, reported in bits per dimension.

The test log p(x) is importance sampled with K=100 on 100 patches by default (about 25 s on
one CPU core); --eval-k 1000 --eval-n 0 (all 450 patches) is tighter and costs 45 times that.

    python examples/colour_data.py                 # 50 epochs, writes runs/example-colour/
    python examples/colour_data.py --epochs 1 --eval-k 10 --eval-n 50 --out /tmp/colour
"""

import argparse

import vaekit

parser = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--epochs", type=int, default=50, help="training epochs (default: 50)")
parser.add_argument("--eval-k", type=int, default=100,
                    help="importance samples for the test log p(x) (default: 100)")
parser.add_argument("--eval-n", type=int, default=100,
                    help="test patches for log p(x), 0 for all 450 (default: 100)")
parser.add_argument("--out", default="runs/example-colour",
                    help="the run folder, which must be new (default: runs/example-colour)")
args = parser.parse_args()

# The data stay integer levels 0..255 (no dequantization): the likelihood is a distribution
# over those levels (PixelCNN++'s mixture of discretized logistics, colour channels coupled),
# so log p(x) is a probability and bits/dim = -log2 p(x) / (3 * 32 * 32) needs no rescaling.
model = vaekit.ModelConfig(latent={"name": "gaussian", "dim": 64},
                           likelihood={"name": "dlogistic-mix", "mixtures": 5},
                           network={"name": "conv", "channels": (32, 64)})
config = vaekit.TrainConfig(model=model, data=vaekit.DataConfig("photo-patches"),
                            epochs=args.epochs, eval_k=args.eval_k, eval_n=args.eval_n)
result = vaekit.train(config, args.out)

test = result.test
print(f"test: {test['nll_bits_per_dim']:.3f} bits/dim (log p(x), K={test['nll_k']}), "
      f"ELBO {test['elbo_bits_per_dim']:.3f} bits/dim, on {test['nll_n']} patches")
print("these are", test["bits_per_dim_of"])
print("samples and reconstructions in", args.out)
