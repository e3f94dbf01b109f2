"""The VAE: an encoder, a decoder, a latent family, a likelihood, an inference scheme and a prior
p(z) (the family's own or a learned one: priors/). Every method returns a torch.distributions
object, so the objectives never need to know which are in use. Network outputs come back in the
input's dtype (under bfloat16 autocast log-densities stay float32), and z [S, B, Z] is decoded
as one batch [S*B, Z].

x is float [B, *event_shape] on the scale vaekit trains on (data/draws.py): values in [0, 1],
k / (L - 1) for 8-bit or other levels k, and 0 or 1 for a Bernoulli likelihood (binarized).
`posterior` and `reconstruct` refuse x outside [0, 1] (one pass over x and a host sync: the
training step calls `latent.posterior(posterior_params(x))` and `encode`, which do not check).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution

from .baselines import GAN, Autoencoder
from .errors import VaekitError
from .latents.base import methods
from .networks import Networks, build_networks


class VAE(nn.Module):
    def __init__(self, config, event_shape: tuple[int, ...], networks: Networks | None = None):
        """`config`: a ModelConfig; `networks`: your own modules instead of config.network's."""
        super().__init__()
        self.config = config = config.resolved(event_shape)
        self.event_shape = tuple(event_shape)
        self.inference = config.inference
        self.latent = config.latent.build_for(self.event_shape)
        self.likelihood = config.likelihood.build(self.event_shape)
        self.encoder, self.decoder = build_networks(
            config.network, self.event_shape, self.latent.param_size, self.latent.decoder_size,
            self.likelihood.param_shape, networks, encoder=self.inference.encoder)
        # last: its initial draws leave the networks' as they were
        self.latent_prior = config.prior.build(self.latent, self.event_shape)

    def networks(self) -> list[nn.Module]:
        """The networks it trains (variational EM has no encoder)."""
        return [m for m in (self.encoder, self.decoder) if m is not None]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's output [B, param_size] in x's dtype; x float [B, *event_shape] in
        [0, 1] (not checked here: training calls it every step; `posterior` checks)."""
        return _as(self.encoder(x), x)

    def posterior_params(self, x: torch.Tensor, init: torch.Tensor | None = None) -> torch.Tensor:
        """lambda(x) [B, param_size]; vem's E-step starts from `init` when given, else zeros.
        x as for `encode` (not checked)."""
        return self.inference.params(self, x, init)

    def posterior(self, x: torch.Tensor) -> Distribution:
        """q(z|x): batch_shape [B], event_shape [z_size]. x: float [B, *event_shape] in [0, 1]
        (8-bit images divided by 255; binarized for a Bernoulli likelihood), as training saw
        it; VaekitError otherwise (a Gaussian likelihood over vectors takes any real x)."""
        self.check_scale(x)
        return self.latent.posterior(self.posterior_params(x))

    def check_scale(self, x: torch.Tensor) -> None:
        """Refuse x outside [0, 1]: 0..255 floats give saturated pictures and no error. Images
        and bounded likelihoods only: a Gaussian over vectors is a density on the reals
        (linear_gaussian.py)."""
        real_vectors = self.config.likelihood.data == "continuous" and len(self.event_shape) != 3
        if real_vectors or x.numel() == 0 or not x.is_floating_point():
            return
        lo, hi = (float(v) for v in torch.aminmax(x))
        if hi > 1:
            raise VaekitError(f"x should be in [0, 1] (got max {hi}): divide 8-bit images by "
                              "255")
        if lo < 0:
            raise VaekitError(f"x should be in [0, 1] (got min {lo}): map images in [-1, 1] "
                              "to (x + 1) / 2")

    def prior(self, temperature: float = 1.0) -> Distribution:
        """p(z): event_shape [z_size] (a learned prior's, with the current parameters); at
        `temperature` T != 1, with its scales times T, for samples (priors/base.py)."""
        if temperature == 1.0:
            return self.latent_prior.distribution(self)
        return self.latent_prior.tempered(self, temperature)

    def observation(self, z: torch.Tensor) -> Distribution:
        """p(x|z): z [..., z_size] -> batch_shape [...], event_shape the example's."""
        h = self.latent.decoder_input(z)
        if h.dim() == 2:
            return self.likelihood(_as(self.decoder(h), h))
        params = _as(self.decoder(h.reshape(-1, h.shape[-1])), h)          # [S*B, ...]
        return self.likelihood(params.reshape(*h.shape[:-1], *params.shape[1:]))

    def shown(self, show: str | None = None) -> str:
        """What its pictures with `show` show, for a legend (e.g. "x ~ p(x|z)")."""
        return self.likelihood.shown(show)

    @property
    def code(self) -> str:
        """The z a reconstruction decodes, for legends: q's point (E_q[z|x]; a flow's f(mu))."""
        return self.latent.point_name

    @torch.no_grad()
    def sample(self, n: int, show: str | None = None, temperature: float = 1.0) -> torch.Tensor:
        """Pictures of p(x|z) for n draws z ~ p(z): [n, *event_shape] in [0, 1]; `show`:
        mean, draw or mode of p(x|z) (likelihoods/base.py; None: the likelihood's default);
        `temperature`: z from the prior with its scales times T (`prior`)."""
        z = self.prior(temperature).sample((n,))
        return self.likelihood.picture(self.observation(z), show)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, show: str | None = None) -> torch.Tensor:
        """Picture of p(x|z) at q's point z (E_q[z|x]; a flow's f(mu)): [B, *event] in [0, 1].
        x: float in [0, 1], as for `posterior` (which refuses other values)."""
        return self.likelihood.picture(self.observation(methods(self.posterior(x)).point()), show)


def _as(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A network's output in its input's dtype (bfloat16 autocast computes in bfloat16)."""
    return out if out.dtype == like.dtype else out.to(like.dtype)


# a model kind's class (the kinds' facts: kinds.py; their training steps: training/loop.py)
MODELS = {"vae": VAE, "ae": Autoencoder, "gan": GAN}


def build_model(config, event_shape: tuple[int, ...], networks: Networks | None = None):
    """The model `config` describes for `event_shape`, on its own networks or `networks`."""
    return MODELS[config.kind](config, event_shape, networks)
