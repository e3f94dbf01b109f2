"""The lecture's contrasts, on the VAE's own networks: a plain autoencoder and a GAN.

- Autoencoder: the same encoder (its first latent_dim outputs are the code z = f(x)) and the
  same decoder and likelihood; trained on the reconstruction term -log p(x | z = f(x)) alone.
  There is no prior, so "sampling" means decoding some z: `sample` decodes z ~ N(0, I) (the
  lecture's question: what happens?) and `sample_fitted` decodes z from a Gaussian fitted to
  the training codes (the usual repair).
- GAN (Goodfellow et al. 2014): the generator is the VAE's decoder network, x = sigmoid(G(z)),
  z ~ N(0, I); an MLP discriminator; the non-saturating generator loss -log D(G(z)). It has
  samples but no likelihood, so it gets no ELBO and no log p(x).
Both train through `vaekit.train` (`model_type` "ae" or "gan"), write the same checkpoints and
pictures, and are compared with the VAE by sample quality (fid.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .likelihoods import build_likelihood
from .networks import mlp


class Autoencoder(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.likelihood = build_likelihood(config)
        d = config.latent_dim
        self.encoder = mlp(config.x_dim, config.encoder_hidden, d, config.activation)
        self.decoder = mlp(d, config.decoder_hidden, self.likelihood.param_size(config.x_dim),
                           config.activation)
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_chol", torch.eye(d))

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def observation(self, z: torch.Tensor):
        return self.likelihood(self.decoder(z))

    def loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict]:
        log_lik = self.observation(self.codes(x)).log_prob(x)
        return -log_lik.mean(), {"train_log_lik": log_lik.detach().mean()}

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict:
        value = self.observation(self.codes(x)).log_prob(x).double().mean().item()
        return {"valid_log_lik": value, "score": value}

    @torch.no_grad()
    def fit_codes(self, x: torch.Tensor) -> None:
        """The Gaussian of the codes of x, for `sample_fitted`."""
        z = self.codes(x).double()
        cov = torch.cov(z.T).reshape(z.shape[1], z.shape[1])
        cov += 1e-6 * torch.eye(len(cov), dtype=cov.dtype)
        self.code_mean.copy_(z.mean(0))
        self.code_chol.copy_(torch.linalg.cholesky(cov))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        z = torch.randn(n, self.config.latent_dim)
        return self.likelihood.mean_image(self.observation(z))

    @torch.no_grad()
    def sample_fitted(self, n: int) -> torch.Tensor:
        z = self.code_mean + torch.randn(n, self.config.latent_dim) @ self.code_chol.T
        return self.likelihood.mean_image(self.observation(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.likelihood.mean_image(self.observation(self.codes(x)))


class GAN(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.decoder = mlp(config.latent_dim, config.decoder_hidden, config.x_dim,
                           config.activation)                       # the generator G
        self.discriminator = mlp(config.x_dim, config.encoder_hidden, 1, config.activation)

    def generate(self, n: int) -> torch.Tensor:
        return torch.sigmoid(self.decoder(torch.randn(n, self.config.latent_dim)))

    def discriminator_loss(self, x: torch.Tensor) -> torch.Tensor:
        real = self.discriminator(x)
        fake = self.discriminator(self.generate(len(x)).detach())
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) +
                F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def generator_loss(self, n: int) -> torch.Tensor:
        fake = self.discriminator(self.generate(n))
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))  # -log D(G(z))

    @torch.no_grad()
    def validate(self, x: torch.Tensor) -> dict:
        """Discriminator accuracy on real x and as many fakes (0.5: it cannot tell)."""
        real = self.discriminator(x) > 0
        fake = self.discriminator(self.generate(len(x))) > 0
        accuracy = (real.double().mean() + (~fake).double().mean()).item() / 2
        return {"valid_discriminator_accuracy": accuracy, "score": -abs(accuracy - 0.5)}

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        return self.generate(n)


def build_model(config):
    """The model a ModelConfig describes: a VAE, an autoencoder or a GAN."""
    if config.model_type == "ae":
        return Autoencoder(config.validate())
    if config.model_type == "gan":
        return GAN(config.validate())
    from .model import VAE
    return VAE(config)
