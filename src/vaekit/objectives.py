"""Objectives: pure functions over torch.distributions objects, per-example values in nats.

- ELBO  = E_q[log p(x|z)] - KL(q(z|x) || p(z))         (Kingma & Welling 2014)
- IWAE_k = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)]      (Burda, Grosse & Salakhutdinov 2015)
ELBO = IWAE_1 <= IWAE_k <= IWAE_k' <= log p(x) for k <= k'.

`decode` is any callable z -> p(x|z) (a Distribution); `q` and `prior` are Distributions over z.
Callers average over the batch.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch.distributions import Distribution, kl_divergence

Decoder = Callable[[torch.Tensor], Distribution]


class ELBO(NamedTuple):
    elbo: torch.Tensor      # [B] log_lik - kl
    log_lik: torch.Tensor   # [B] one-sample estimate of E_q[log p(x|z)]
    kl: torch.Tensor        # [B] KL(q || p), analytic when registered


def kl_term(q: Distribution, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q || prior) per example: closed form when torch registers the pair, else the
    Monte Carlo estimate log q(z) - log p(z) at the given sample(s) z ([S, B, ...] or [B, ...])."""
    try:
        return kl_divergence(q, prior)
    except NotImplementedError:
        if z is None:
            z = q.rsample()
        mc = q.log_prob(z) - prior.log_prob(z)
        return mc if mc.dim() == len(q.batch_shape) else mc.mean(0)


def elbo(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder,
         n: int = 1) -> ELBO:
    """Reparameterized ELBO and its two terms per example, E_q averaged over n samples."""
    if n == 1:
        z = q.rsample()                        # [B, Z]
        log_lik = decode(z).log_prob(x)        # [B]
    else:
        z = q.rsample((n,))                    # [n, B, Z]
        log_lik = decode(z).log_prob(x).mean(0)
    kl = kl_term(q, prior, z)                  # [B]
    return ELBO(log_lik - kl, log_lik, kl)


def log_weights(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder,
                k: int, beta: float = 1.0) -> torch.Tensor:
    """log p(x|z_i) + beta (log p(z_i) - log q(z_i|x)) for z_i ~ q, i = 1..k: [k, B].

    beta < 1 gives the KL-annealed weights used in warm-up; beta = 1 the true importance weights.
    """
    z = q.rsample((k,))                        # [k, B, Z]
    log_lik = decode(z).log_prob(x)            # [k, B]; x [B, D] broadcasts over k
    return log_lik + beta * (prior.log_prob(z) - q.log_prob(z))


def iwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, k: int,
         beta: float = 1.0) -> torch.Tensor:
    """The k-sample importance-weighted bound per example: [B]."""
    lw = log_weights(x, q, prior, decode, k, beta)
    return torch.logsumexp(lw, dim=0) - math.log(k)
