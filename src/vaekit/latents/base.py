"""The declared protocol of a latent family: what the objectives, the evaluation, the pictures
and the trainer may ask of a family's module and of its posterior q(z|x), with defaults, for
the ELBO (Kingma & Welling 2014), importance-weighted bounds (Burda et al. 2015), free bits
(Kingma et al. 2016), and M2 (Kingma, Rezende, Mohamed & Welling 2014).

A new latent family is one file in latents/: a `LatentFamily` module, a `Posterior` overriding
the defaults that do not fit it, and a spec whose `build()` gives the module. Any other torch
distribution goes through the objectives with the defaults (`methods(q)`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.distributions import Distribution, Independent, constraints, kl_divergence


class Enumeration(NamedTuple):
    """A discrete part y of z summed out exactly: E_q[f] = sum_y weights_y E_q(z|x,y)[f]."""
    values: torch.Tensor     # [n, K, B, Z]: n draws of z for each class y, y included
    weights: torch.Tensor    # [K, B]: q(y|x)


class Labelled(NamedTuple):
    """The parts of M2's bound on log p(x, y) besides log p(x|y,z), for known classes y."""
    z: torch.Tensor          # [B, Z]: one draw of z ~ q(z|x,y), y included
    log_prior: torch.Tensor  # [B]: log p(y)
    kl: torch.Tensor         # [B]: KL(q(z|x,y) || p(z))


class OverVectors:
    """What torch asks of a distribution over real vectors that checks no arguments."""
    arg_constraints: dict = {}
    support = constraints.real_vector


class Posterior(Distribution):
    """q(z|x) with batch_shape [B] and event_shape [Z], and what the objectives ask of it."""

    def kl_layers(self, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
        """KL(q || prior) over layers or parts: [..., B, L]. Default, one column: closed form when
        torch registers the pair, else log q(z) - log p(z) at z (a fresh draw when None)."""
        try:
            return kl_divergence(self, prior).unsqueeze(-1)
        except NotImplementedError:
            z = self.rsample() if z is None else z
            return (self.log_prob(z) - prior.log_prob(z)).unsqueeze(-1)

    def kl_groups(self, prior: Distribution, layers: torch.Tensor) -> torch.Tensor:
        """The KL in the groups free bits floors, [B, G]: an Independent's units, else `layers`."""
        if isinstance(self, Independent) and isinstance(prior, Independent):
            try:
                return kl_divergence(self.base_dist, prior.base_dist).flatten(
                    len(self.batch_shape))
            except NotImplementedError:
                pass
        return layers

    def enumeration(self, n: int, reparameterized: bool) -> Enumeration | None:
        """The ELBO with a discrete part summed out, or None (default): plain Monte Carlo."""
        return None

    def importance_draws(self, k: int, reparameterized: bool = True
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws from the importance proposal and their log-density: ([k', B, Z], [k', B]).
        Default: k draws of q (rsample to train, sample to evaluate); a proposal may draw more."""
        z = self.rsample((k,)) if reparameterized else self.sample((k,))
        return z, self.log_prob(z)

    def point(self) -> torch.Tensor:
        """The one z [B, Z] that stands for q in reconstructions, active units and pictures.
        Default: E_q[z] (a flow's: its steps applied to the base mean, latents/flows)."""
        return self.mean

    def labelled_terms(self, prior: Distribution, y: torch.Tensor) -> Labelled:
        """For classes y [B]: a draw of z given y, log p(y), KL(q(z|x,y) || p(z))."""
        raise NotImplementedError(f"{type(self).__name__} has no class variable")

    def class_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        """log q(y|x) for classes y [..., B] (long); families with a class variable only."""
        raise NotImplementedError(f"{type(self).__name__} has no class variable")

    def classify(self) -> torch.Tensor:
        """argmax_y q(y|x): [B] (long); families with a class variable only."""
        raise NotImplementedError(f"{type(self).__name__} has no class variable")


class IndependentPosterior(Posterior, Independent):
    """torch's Independent with the protocol's defaults (the diagonal Gaussian q), at no cost."""


class _Defaults:
    """The protocol's defaults applied to a torch distribution that does not declare it."""

    def __init__(self, q: Distribution):
        self.q = q

    def kl_layers(self, prior, z=None):
        return Posterior.kl_layers(self.q, prior, z)

    def kl_groups(self, prior, layers):
        return Posterior.kl_groups(self.q, prior, layers)

    def enumeration(self, n, reparameterized):
        return None

    def importance_draws(self, k, reparameterized=True):
        return Posterior.importance_draws(self.q, k, reparameterized)

    def point(self):
        return self.q.mean

    def labelled_terms(self, prior, y):
        return Posterior.labelled_terms(self.q, prior, y)


def methods(q: Distribution) -> Posterior | _Defaults:
    """The protocol of q: q itself when its family declares it, else the defaults for q."""
    return q if isinstance(q, Posterior) else _Defaults(q)


class LatentFamily(nn.Module):
    """The prior p(z) and the posterior family q(z|x). Subclasses set `dims` (widths of the layers
    or parts, summing to `z_size`), `param_size` (encoder outputs per q) and `decoder_size`."""
    dims: tuple[int, ...]
    param_size: int
    z_size: int
    decoder_size: int
    classes: int = 0            # K of a class variable y within z (M2); 0 when there is none
    point_name: str = "E_q[z|x]"   # what `point()` of its q is, for legends
    kl_sampled: bool = False    # the KL is log q(z) - log p(z) at one draw: q has no closed form
    tempered: bool = False      # prior(temperature=T) multiplies its scales by T (samples)

    def posterior(self, params: torch.Tensor) -> Posterior:
        """[B, param_size] -> q(z|x), batch_shape [B], event_shape [z_size]."""
        raise NotImplementedError

    def prior(self) -> Distribution:
        """p(z), event_shape [z_size]."""
        raise NotImplementedError

    def decoder_input(self, z: torch.Tensor) -> torch.Tensor:
        """What of z [..., z_size] the decoder reads: [..., decoder_size]. Default: all of z."""
        return z

    def layer_levels(self) -> list[str] | None:
        """The resolution each layer or group sits at ("7x7", ...), for the KL per resolution;
        None: the family's layers have none (evaluation.per_resolution)."""
        return None

    def anneal(self, step: int) -> None:
        """Called by the trainer before every step (e.g. a temperature schedule). Default: none."""

    @property
    def temperature(self) -> float | None:
        """The relaxation's current temperature, logged as tau while it anneals; else None."""
        return None

    def class_grid(self, ncol: int) -> torch.Tensor:
        """z for a picture of p(x | y, z): a row per class, the same z ~ p(z) down each column."""
        raise NotImplementedError(f"{type(self).__name__} has no class variable")
