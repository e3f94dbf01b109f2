"""A GAN (Goodfellow et al. 2014) on the VAE's networks: the generator is the decoder network,
x = sigmoid(G(z)), z ~ N(0, I); the discriminator is the encoder network with one output. The
generator's loss is the non-saturating -log D(G(z)). It has no likelihood (no ELBO, no log
p(x)) and learns the [0, 1] images themselves.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .. import devices
from ..errors import VaekitError
from ..networks import Networks, build_networks


class GAN(nn.Module):
    def __init__(self, config, event_shape: tuple[int, ...], networks: Networks | None = None):
        """`networks`: your own (discriminator x -> [B, 1], generator z -> [B, *event_shape])."""
        super().__init__()
        self.config = config = config.resolved(event_shape)
        self.event_shape = tuple(event_shape)
        d = self.code_size = config.latent.dim
        self.discriminator, self.decoder = build_networks(
            config.network, self.event_shape, 1, d, self.event_shape, networks)

    def networks(self) -> list[nn.Module]:
        return [self.discriminator, self.decoder]

    def generate(self, n: int) -> torch.Tensor:
        return torch.sigmoid(self.decoder(torch.randn(n, self.code_size, device=devices.of(self))))

    def discriminator_loss(self, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real, fake = self.discriminator(x).float(), self.discriminator(fake.detach()).float()
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real)) +
                F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        score = self.discriminator(fake).float()
        return F.binary_cross_entropy_with_logits(score, torch.ones_like(score))  # -log D(G(z))

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor) -> float:
        """Discriminator accuracy on real x and as many fakes (0.5: it cannot tell)."""
        real = self.discriminator(x.to(devices.of(self))) > 0
        fake = self.discriminator(self.generate(len(x))) > 0
        return (real.double().mean() + (~fake).double().mean()).item() / 2

    @torch.no_grad()
    def sample(self, n: int, show: str | None = None) -> torch.Tensor:
        self.shown(show)
        return self.generate(n)

    @staticmethod
    def shown(show: str | None = None) -> str:
        """What its pictures show (a GAN's generator gives images, not a p(x|z))."""
        if show is not None:
            raise VaekitError("a GAN's generator gives images, not a distribution p(x|z): "
                              "there is no mean, draw or mode to choose (leave out --show)")
        return "x = sigmoid(G(z))"
