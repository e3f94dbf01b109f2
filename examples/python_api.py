"""Train a VAE on the bundled 8x8 digits from Python, load it back, score and sample it.

    python examples/python_api.py                  # 50 epochs, writes runs/example-api/
    python examples/python_api.py --epochs 1 --out /tmp/api
"""

import argparse

import torch

import vaekit
from vaekit.plots import save_grid

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=50)
parser.add_argument("--eval-k", type=int, default=1000, help="importance samples for log p(x)")
parser.add_argument("--out", default="runs/example-api", help="the run folder (must be new)")
args = parser.parse_args()

# Defaults: 50 Gaussian latents, the Burda MLP, a Bernoulli likelihood (binarized digits).
config = vaekit.TrainConfig(data=vaekit.DataConfig("digits"), epochs=args.epochs,
                            eval_k=args.eval_k)
result = vaekit.train(config, args.out)   # trains, keeps the best epoch, evaluates it on test
print(f"test log p(x) ~ {-result.test['nll']:.2f} nats, ELBO {result.test['elbo']:.2f}")

# Any finished run loads back from its folder: the best weights and their config.
model, ckpt = vaekit.load_model(args.out)
model.eval()
x = result.splits.test[:100]              # [100, 1, 8, 8] binarized test digits
with torch.no_grad():
    terms = vaekit.elbo(x, model.posterior(x), model.prior(), model.observation)
print(f"ELBO of {len(x)} test digits: {terms.elbo.mean():.2f} nats "
      f"(KL {terms.kl.mean():.2f}) per image")

# Samples: z ~ p(z), then the mean of p(x|z) as a picture in [0, 1].
torch.manual_seed(0)
images = model.sample(64)                 # [64, 1, 8, 8]
print("samples:", save_grid(images, f"{args.out}/example-samples.png", ncol=8))
