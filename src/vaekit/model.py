"""The VAE: an encoder, a decoder, a latent family, a likelihood and an inference scheme.

z ~ p(z), x ~ p(x|z; theta) with the decoder giving the parameters of p(x|z); q(z|x) has
parameters lambda from the encoder (amortized), from the encoder refined by gradient steps
(semi), or optimized for each x with no encoder at all (vem); see inference.py. Every method
returns a torch.distributions object, so the objectives (objectives.py) never need to know which
family, likelihood or scheme is in use.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution

from .config import ModelConfig
from .inference import LocalOptimizer, optimize, refine
from .latents import build_latent
from .likelihoods import build_likelihood
from .networks import mlp


class VAE(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config.validate()
        self.latent = build_latent(config)
        self.likelihood = build_likelihood(config)
        self.encoder = None if config.inference == "vem" else mlp(
            config.x_dim, config.encoder_hidden, self.latent.param_size, config.activation)
        self.decoder = mlp(self.latent.decoder_size, config.decoder_hidden,
                           self.likelihood.param_size(config.x_dim), config.activation)
        self.estep = LocalOptimizer(lr=config.local_lr, tol=config.estep_tol,
                                    max_iter=config.estep_max_iter, window=10, patience=1)

    def posterior_params(self, x: torch.Tensor, init: torch.Tensor | None = None) -> torch.Tensor:
        """lambda(x) [B, param_size] under this model's inference scheme. The E-step of `vem`
        starts from `init` when given (a warm start), else from zeros."""
        scheme = self.config.inference
        if scheme == "amortized":
            return self.encoder(x)
        if scheme == "semi":
            return refine(self, x, self.encoder(x), self.config.refine_steps, self.config.local_lr)
        if init is None:
            init = x.new_zeros(len(x), self.latent.param_size)
        return optimize(self, x, init, self.estep).params

    def posterior(self, x: torch.Tensor) -> Distribution:
        """q(z|x): batch_shape [B], event_shape [z_size]."""
        return self.latent.posterior(self.posterior_params(x))

    def prior(self) -> Distribution:
        """p(z): event_shape [z_size]."""
        return self.latent.prior()

    def observation(self, z: torch.Tensor) -> Distribution:
        """p(x|z): z [..., z_size] -> distribution with batch_shape [...], event_shape [x_dim]."""
        return self.likelihood(self.decoder(self.latent.decoder_input(z)))

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        """Mean images of p(x|z) for n draws z ~ p(z): [n, x_dim] in [0, 1]."""
        z = self.prior().sample((n,))
        return self.likelihood.mean_image(self.observation(z))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Mean image of p(x|z) at z = E_q[z|x]: [B, x_dim] in [0, 1]."""
        return self.likelihood.mean_image(self.observation(self.posterior(x).mean))
