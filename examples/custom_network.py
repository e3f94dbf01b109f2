"""Your own convolutional encoder and decoder (plain nn.Modules), trained on the 8x8 digits.

    python examples/custom_network.py              # 50 epochs, writes runs/example-custom/
    python examples/custom_network.py --epochs 1 --out /tmp/custom
"""

import argparse

from torch import nn

import vaekit

Z = 16   # latent size


class Encoder(nn.Sequential):      # any nn.Module with this forward shape will do
    """x [B, 1, 8, 8] -> [B, 2Z]: means, then pre-softplus scales of the Gaussian q(z|x)."""

    def __init__(self):
        super().__init__(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),             # [B, 32, 8, 8]
            nn.Conv2d(32, 64, 4, stride=2, padding=1), nn.ReLU(),  # [B, 64, 4, 4]
            nn.Flatten(), nn.Linear(64 * 4 * 4, 2 * Z))


class Decoder(nn.Sequential):
    """z [B, Z] -> [B, 1, 8, 8]: the logits of the Bernoulli p(x|z), one per pixel."""

    def __init__(self):
        super().__init__(
            nn.Linear(Z, 64 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (64, 4, 4)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), nn.ReLU(),  # [B, 32, 8, 8]
            nn.Conv2d(32, 1, 3, padding=1))


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--epochs", type=int, default=50)
parser.add_argument("--eval-k", type=int, default=1000, help="importance samples for log p(x)")
parser.add_argument("--out", default="runs/example-custom", help="the run folder (must be new)")
args = parser.parse_args()

# The latent size in the config must match the modules' Z; the shapes are checked when the
# model is built. The run records the class names; loading needs the modules again.
config = vaekit.TrainConfig(model=vaekit.ModelConfig(latent={"name": "gaussian", "dim": Z}),
                            epochs=args.epochs, eval_k=args.eval_k)
result = vaekit.train(config, args.out, networks=vaekit.Networks(Encoder(), Decoder()))
print(f"test log p(x) ~ {-result.test['nll']:.2f} nats, ELBO {result.test['elbo']:.2f}")

model, ckpt = vaekit.load_model(args.out, networks=vaekit.Networks(Encoder(), Decoder()))
print("loaded:", type(model.encoder).__name__, type(model.decoder).__name__,
      "samples in", f"{args.out}/samples.png")
