"""Objectives: pure functions over torch.distributions objects, per-example values in nats.

- ELBO  = E_q[log p(x|z)] - KL(q(z|x) || p(z))         (Kingma & Welling 2014)
- IWAE_k = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)]      (Burda, Grosse & Salakhutdinov 2015)
ELBO = IWAE_1 <= IWAE_k <= IWAE_k' <= log p(x) for k <= k'. What an objective needs of q
beyond a Distribution it asks q's protocol (latents/base.py). Callers average over the batch.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch.distributions import Distribution

from .latents.base import Enumeration, methods

Decoder = Callable[[torch.Tensor], Distribution]


class ELBO(NamedTuple):
    elbo: torch.Tensor       # [B] log_lik - kl
    log_lik: torch.Tensor    # [B] estimate of E_q[log p(x|z)]
    kl: torch.Tensor         # [B] KL(q || p), analytic when registered
    kl_layers: torch.Tensor  # [B, L] the KL split over stochastic layers (L = 1: kl itself)


def _mean_over_samples(value: torch.Tensor, q: Distribution, event_dims: int = 0) -> torch.Tensor:
    """Average a per-sample estimate over leading sample dims down to q's batch shape."""
    while value.dim() > len(q.batch_shape) + event_dims:
        value = value.mean(0)
    return value


def kl_layers(q: Distribution, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
    """Per-layer KL terms [B, L] (q's `kl_layers`), averaged over the draws z."""
    return _mean_over_samples(methods(q).kl_layers(prior, z), q, event_dims=1)


def kl_term(q: Distribution, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q || prior) per example [B]: the sum of `kl_layers`."""
    return kl_layers(q, prior, z).sum(-1)


def kl_groups(q: Distribution, prior: Distribution, layers: torch.Tensor) -> torch.Tensor:
    """The KL split into the groups that free bits floors, [B, G] (q's `kl_groups`)."""
    return methods(q).kl_groups(prior, layers)


def free_bits_kl(groups: torch.Tensor, floor: float) -> torch.Tensor:
    """Kingma et al. (2016)'s free bits: sum_g max(floor, batch mean of KL_g). Below its floor a
    group's KL has no gradient, so it stops pushing q(z_g|x) onto the prior (against collapse)."""
    return groups.mean(0).clamp(min=floor).sum()


def _draw(q: Distribution, shape: tuple, reparameterized: bool) -> torch.Tensor:
    """rsample for training (a relaxation for discrete latents), sample for evaluation."""
    return q.rsample(shape) if reparameterized else q.sample(shape)


def elbo(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder,
         n: int = 1, reparameterized: bool = True) -> ELBO:
    """ELBO and its terms per example over n samples (or q's `enumeration`)."""
    enumerated = methods(q).enumeration(n, reparameterized)
    if enumerated is not None:
        return _elbo_enumerated(x, q, prior, decode, enumerated)
    if n == 1:
        z = _draw(q, (), reparameterized)     # [B, Z]
        log_lik = decode(z).log_prob(x)        # [B]
    else:
        z = _draw(q, (n,), reparameterized)   # [n, B, Z]
        log_lik = decode(z).log_prob(x).mean(0)
    per_layer = kl_layers(q, prior, z)         # [B, L]
    kl = per_layer.sum(-1)                     # [B]
    return ELBO(log_lik - kl, log_lik, kl, per_layer)


def _elbo_enumerated(x, q, prior, decode, enumerated: Enumeration) -> ELBO:
    """The ELBO with a discrete part y of q summed out exactly (latents/joint.py):
    sum_y q(y|x) E_q(z|x,y)[log p(x|y,z)] - KL, with n draws of z per class; the KL is exact."""
    v, weights = enumerated                                          # [n, K, B, Z], [K, B]
    log_lik = (weights * decode(v).log_prob(x).mean(0)).sum(0)       # [B]
    per_layer = kl_layers(q, prior)
    kl = per_layer.sum(-1)
    return ELBO(log_lik - kl, log_lik, kl, per_layer)


def labelled_elbo(x: torch.Tensor, y: torch.Tensor, q: Distribution, prior: Distribution,
                  decode: Decoder) -> torch.Tensor:
    """M2's bound on log p(x, y) (Kingma et al. 2014, eq. 6), [B], with one draw of z."""
    terms = methods(q).labelled_terms(prior, y)
    return decode(terms.z).log_prob(x) + terms.log_prior - terms.kl


def log_weights(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder,
                k: int, beta: float = 1.0, reparameterized: bool = True) -> torch.Tensor:
    """log p(x|z_i) + beta (log p(z_i) - log q(z_i|x)) for z_i from q's `importance_draws`:
    [k', B]. beta < 1 gives the KL-annealed weights of warm-up; beta = 1 the importance weights."""
    z, log_q = methods(q).importance_draws(k, reparameterized)     # [k', B, Z], [k', B]
    log_lik = decode(z).log_prob(x)            # [k', B]; x [B, D] broadcasts over k'
    return log_lik + beta * (prior.log_prob(z) - log_q)


def iwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, k: int,
         beta: float = 1.0) -> torch.Tensor:
    """The k-sample importance-weighted bound per example: [B]."""
    lw = log_weights(x, q, prior, decode, k, beta)
    return torch.logsumexp(lw, dim=0) - math.log(len(lw))
