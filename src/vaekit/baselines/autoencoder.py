"""A plain autoencoder: the same networks and likelihood as the VAE, no prior, no KL.

Training maximises log p(x | z = f(x)) alone. With no prior, `sample` decodes z ~ N(0, I) (the
lecture's question: what happens?) and `sample_fitted` z from a Gaussian fitted to the codes of
validation data (the usual repair).
"""

from __future__ import annotations

import torch
from torch import nn

from ..networks import Networks, build_networks


class Autoencoder(nn.Module):
    def __init__(self, config, event_shape: tuple[int, ...], networks: Networks | None = None):
        super().__init__()
        self.config = config = config.resolved(event_shape)
        self.event_shape = tuple(event_shape)
        self.likelihood = config.likelihood.build(self.event_shape)
        d = self.code_size = config.latent.dim
        self.encoder, self.decoder = build_networks(config.network, self.event_shape, d, d,
                                                    self.likelihood.param_shape, networks)
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_chol", torch.eye(d))

    def networks(self) -> list[nn.Module]:
        return [self.encoder, self.decoder]

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).to(x.dtype)

    def observation(self, z: torch.Tensor):
        return self.likelihood(self.decoder(z).to(z.dtype))

    def log_lik(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z = f(x)) per example: [B]."""
        return self.observation(self.codes(x)).log_prob(x)

    @torch.no_grad()
    def fit_codes(self, x: torch.Tensor, batch_size: int = 1000) -> None:
        """The Gaussian of the codes of x, for `sample_fitted` (with one example, N(z, I))."""
        z = torch.cat([self.codes(x[i:i + batch_size].to(self.code_mean.device))
                       for i in range(0, len(x), batch_size)]).double()
        eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
        cov = torch.cov(z.T).reshape(z.shape[1], z.shape[1]) if len(z) > 1 else eye
        cov = cov + 1e-6 * eye
        self.code_mean.copy_(z.mean(0))
        self.code_chol.copy_(torch.linalg.cholesky(cov))

    def shown(self, show: str | None = None) -> str:
        """What its pictures with `show` show, for a legend (e.g. "x ~ p(x|z)")."""
        return self.likelihood.shown(show)

    code = "f(x), the encoder's code"    # the z a reconstruction decodes, for legends

    @torch.no_grad()
    def sample(self, n: int, show: str | None = None) -> torch.Tensor:
        z = torch.randn(n, self.code_size, device=self.code_mean.device)
        return self.likelihood.picture(self.observation(z), show)

    @torch.no_grad()
    def sample_fitted(self, n: int, show: str | None = None) -> torch.Tensor:
        z = self.code_mean + torch.randn(n, self.code_size, device=self.code_mean.device) @ self.code_chol.T
        return self.likelihood.picture(self.observation(z), show)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, show: str | None = None) -> torch.Tensor:
        return self.likelihood.picture(self.observation(self.codes(x)), show)
