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
from torch.distributions import Distribution, Independent, kl_divergence

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
    """Per-layer KL terms [B, L]: from q.kl_layers(prior, z) when the latent has layers
    (hierarchical latents), else the single KL(q || prior) as one column."""
    if hasattr(q, "kl_layers"):
        z = q.rsample() if z is None else z
        return _mean_over_samples(q.kl_layers(prior, z), q, event_dims=1)
    return kl_term(q, prior, z).unsqueeze(-1)


def kl_term(q: Distribution, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q || prior) per example: closed form when torch registers the pair, else the
    Monte Carlo estimate log q(z) - log p(z) at the given sample(s) z ([S, B, ...] or [B, ...]).
    Layered latents sum their per-layer terms (see kl_layers)."""
    if hasattr(q, "kl_layers"):
        return kl_layers(q, prior, z).sum(-1)
    try:
        return kl_divergence(q, prior)
    except NotImplementedError:
        if z is None:
            z = q.rsample()
        return _mean_over_samples(q.log_prob(z) - prior.log_prob(z), q)


def kl_groups(q: Distribution, prior: Distribution, layers: torch.Tensor) -> torch.Tensor:
    """The KL split into the groups that free bits floors, [B, G]: the independent units of
    q and p where their KL has a closed form per unit (a Gaussian's dimensions, a categorical's
    variables: `units`, or an Independent's base distribution), else `layers` (kl_layers: a
    hierarchy's layers, or the whole KL as one group)."""
    qu, pu = _units(q), _units(prior)
    if qu is not None and pu is not None and not hasattr(q, "kl_layers"):
        try:
            return kl_divergence(qu, pu).flatten(len(q.batch_shape))
        except NotImplementedError:
            pass
    return layers


def _units(d: Distribution) -> Distribution | None:
    if hasattr(d, "units"):
        return d.units
    return d.base_dist if isinstance(d, Independent) else None


def free_bits_kl(groups: torch.Tensor, floor: float) -> torch.Tensor:
    """Kingma et al. (2016)'s free bits: sum_g max(floor, mean over the batch of KL_g), a
    scalar for the loss. Below its floor a group's KL has no gradient, so the KL term stops
    pushing q(z_g|x) onto the prior there (against posterior collapse)."""
    return groups.mean(0).clamp(min=floor).sum()


def _draw(q: Distribution, shape: tuple, reparameterized: bool) -> torch.Tensor:
    """rsample for training (gradients flow through z; for discrete latents a relaxation),
    sample for evaluation (draws of q itself)."""
    return q.rsample(shape) if reparameterized else q.sample(shape)


def elbo(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder,
         n: int = 1, reparameterized: bool = True) -> ELBO:
    """ELBO and its two terms per example, E_q averaged over n samples."""
    if hasattr(q, "per_class") and (q.exact or not reparameterized):
        return _elbo_enumerated(x, q, prior, decode, n, reparameterized)
    if n == 1:
        z = _draw(q, (), reparameterized)     # [B, Z]
        log_lik = decode(z).log_prob(x)        # [B]
    else:
        z = _draw(q, (n,), reparameterized)   # [n, B, Z]
        log_lik = decode(z).log_prob(x).mean(0)
    per_layer = kl_layers(q, prior, z)         # [B, L]
    kl = per_layer.sum(-1)                     # [B]
    return ELBO(log_lik - kl, log_lik, kl, per_layer)


def _elbo_enumerated(x, q, prior, decode, n: int, reparameterized: bool) -> ELBO:
    """The ELBO with a discrete part y of q summed out exactly (latents/joint.py):
    sum_y q(y|x) E_q(z|x,y)[log p(x|y,z)] - KL, with n draws of z per class."""
    v = q.per_class((n,), reparameterized)                 # [n, K, B, Z]
    log_lik = (q.probs.T * decode(v).log_prob(x).mean(0)).sum(0)    # [B]
    per_layer = kl_layers(q, prior)
    kl = per_layer.sum(-1)
    return ELBO(log_lik - kl, log_lik, kl, per_layer)


def labelled_elbo(x: torch.Tensor, y: torch.Tensor, q: Distribution, prior: Distribution,
                  decode: Decoder) -> torch.Tensor:
    """M2's bound on log p(x, y) for labelled examples (Kingma et al. 2014, eq. 6), [B]:
    E_q(z|x,y)[log p(x|y,z)] + log p(y) - KL(q(z|x,y) || p(z)), with one draw of z."""
    qz = q.given(y)
    v = torch.cat([torch.nn.functional.one_hot(y, q.classes).to(q.loc), qz.rsample()], -1)
    return decode(v).log_prob(x) + prior.class_log_prob(y) - kl_divergence(qz, prior.z_part)


def log_weights(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder,
                k: int, beta: float = 1.0, reparameterized: bool = True) -> torch.Tensor:
    """log p(x|z_i) + beta (log p(z_i) - log q(z_i|x)) for z_i ~ q, i = 1..k: [k, B].

    beta < 1 gives the KL-annealed weights used in warm-up; beta = 1 the true importance weights.
    """
    if hasattr(q, "stratified"):              # y summed exactly: k' >= k draws, K per class
        z, log_q = q.stratified(k, reparameterized)
    else:
        z = _draw(q, (k,), reparameterized)   # [k, B, Z]
        log_q = q.log_prob(z)
    log_lik = decode(z).log_prob(x)            # [k, B]; x [B, D] broadcasts over k
    return log_lik + beta * (prior.log_prob(z) - log_q)


def iwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, k: int,
         beta: float = 1.0) -> torch.Tensor:
    """The k-sample importance-weighted bound per example: [B]."""
    lw = log_weights(x, q, prior, decode, k, beta)
    return torch.logsumexp(lw, dim=0) - math.log(len(lw))
