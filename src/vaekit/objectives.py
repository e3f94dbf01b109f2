"""Objectives: pure functions over torch.distributions objects, per-example values in nats.

- ELBO  = E_q[log p(x|z)] - KL(q(z|x) || p(z))         (Kingma & Welling 2014)
- IWAE_k = E[log (1/k) sum_i p(x, z_i) / q(z_i|x)]      (Burda, Grosse & Salakhutdinov 2015)
ELBO = IWAE_1 <= IWAE_k <= IWAE_k' <= log p(x) for k <= k'. What an objective needs of q
beyond a Distribution it asks q's protocol (latents/base.py). Callers average over the batch.

Rainforth et al. (2018, "Tighter variational bounds are not necessarily better") train q on
looser bounds, whose gradient for q has a higher signal-to-noise ratio, from M K draws:
- MIWAE(M, K) = the mean of M independent IWAE_K: in expectation IWAE_K's bound (ELBO <=
  MIWAE(M, K) = IWAE_K <= IWAE_MK), with 1/M of its variance;
- CIWAE_c = c ELBO + (1 - c) IWAE_K over the same K draws (the ELBO: their mean log weight);
- PIWAE(M, K): the decoder and the prior trained by IWAE_MK, q by MIWAE(M, K), on the same draws.
Tucker, Lawson, Gu & Maddison (2018)'s doubly reparameterized gradient (DReG), for q with
`rsample` whose parameters all come from the tensor it is built on (`stopped`: q at those
parameters detached): the same expected gradient for q, with a lower variance (the score
function term, whose variance grows with K, is replaced by a reparameterized one).
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
         n: int = 1, reparameterized: bool = True, kl_samples: int = 1) -> ELBO:
    """ELBO and its terms per example over n samples (or q's `enumeration`). Where the KL has
    no closed form it is estimated at the ELBO's draws and `kl_samples` - 1 more of q's."""
    enumerated = methods(q).enumeration(n, reparameterized)
    if enumerated is not None:
        return _elbo_enumerated(x, q, prior, decode, enumerated)
    if n == 1:
        z = _draw(q, (), reparameterized)     # [B, Z]
        log_lik = decode(z).log_prob(x)        # [B]
    else:
        z = _draw(q, (n,), reparameterized)   # [n, B, Z]
        log_lik = decode(z).log_prob(x).mean(0)
    per_layer = _kl_estimate(q, prior, z, kl_samples, reparameterized)     # [B, L]
    kl = per_layer.sum(-1)                     # [B]
    return ELBO(log_lik - kl, log_lik, kl, per_layer)


def _kl_estimate(q: Distribution, prior: Distribution, z: torch.Tensor, samples: int,
                 reparameterized: bool) -> torch.Tensor:
    """`kl_layers` at the ELBO's draws z, averaged with `samples` - 1 more draws where it is a
    Monte Carlo estimate (a learned prior, a flow). With a Gaussian q its gradient's noise is
    -log p(z)'s alone (log q's reparameterized gradient is the entropy's exactly); more draws
    divide its variance. The extra draws are taken in one call after z's KL, so that a flow's
    log q reads both from its cache (no inverse)."""
    first = kl_layers(q, prior, z)
    if samples == 1:
        return first
    more = kl_layers(q, prior, _draw(q, (samples - 1,), reparameterized))
    return (first + (samples - 1) * more) / samples


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


def _weighted_draws(x, q, prior, decode, m: int, k: int, beta: float,
                    stopped: Distribution | None) -> tuple[torch.Tensor, torch.Tensor]:
    """m independent sets of draws and their log weights: ([m, k', B, Z], [m, k', B]). Each set
    is one call of q's `importance_draws` (a stratified proposal stays stratified in each set);
    with `stopped` (DReG), of q's rsample (the same draws), whose log q is `stopped`'s."""
    if stopped is not None:
        z = torch.stack([q.rsample((k,)) for _ in range(m)])
        log_q = stopped.log_prob(z)
    else:
        sets = [methods(q).importance_draws(k) for _ in range(m)]
        z, log_q = torch.stack([s[0] for s in sets]), torch.stack([s[1] for s in sets])
    flat = z.flatten(0, 1)                          # [m k', B, Z]: one decoder pass for all
    log_lik, log_prior = (t.unflatten(0, z.shape[:2])
                          for t in (decode(flat).log_prob(x), prior.log_prob(flat)))
    return z, log_lik + beta * (log_prior - log_q)


def _log_mean_exp(lw: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.logsumexp(lw, dim) - math.log(lw.shape[dim])


def _with_gradient(value: torch.Tensor, *surrogates: torch.Tensor) -> torch.Tensor:
    """`value`'s numbers with the surrogates' gradient."""
    return value.detach() + sum(s - s.detach() for s in surrogates)


def _dreg(lw: torch.Tensor, z: torch.Tensor, beta: float) -> torch.Tensor:
    """MIWAE's (IWAE's: m = 1) DReG surrogate [B] from log weights lw [m, k, B] whose log q has
    stopped parameters, at z [m, k, B, Z] drawn with live ones. Its gradient, w being each
    set's normalized weights: MIWAE's for the decoder and the prior, sum_i (w_i / m) d lw_i /
    d theta; for q, sum_i (w_i / m) (1 - beta + beta w_i) d lw_i / d z_i dz_i / d phi. That
    replaces the score term -beta sum_i w_i d log q(z_i) / d phi that it leaves out by a term
    of the same expectation: E_q[f(z) d log q(z) / d phi] = E[df/dz dz/dphi] for f = w_i, and
    dw_i / dz_i = w_i (1 - w_i) d lw_i / dz_i. beta = 1: Tucker et al.'s w_i^2."""
    w = torch.softmax(lw.detach(), 1)                              # [m, k, B]
    if z.requires_grad:
        factor = (1 - beta + beta * w).unsqueeze(-1)               # [m, k, B, 1]
        z.register_hook(lambda grad: grad * factor)
    return (w / len(lw) * lw).sum((0, 1))


def miwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, m: int,
          k: int, beta: float = 1.0, stopped: Distribution | None = None) -> torch.Tensor:
    """MIWAE(m, k), the mean of m independent k-sample bounds, per example: [B]. With `stopped`
    (q at stop-gradient parameters), its gradient is DReG's (`_dreg`)."""
    z, lw = _weighted_draws(x, q, prior, decode, m, k, beta, stopped)
    value = _log_mean_exp(lw, 1).mean(0)
    return value if stopped is None else _with_gradient(value, _dreg(lw, z, beta))


def iwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, k: int,
         beta: float = 1.0, stopped: Distribution | None = None) -> torch.Tensor:
    """The k-sample importance-weighted bound per example: [B] (MIWAE(1, k)). With `stopped`
    (q at stop-gradient parameters), its gradient is DReG's."""
    return miwae(x, q, prior, decode, 1, k, beta, stopped)


def ciwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, k: int,
          mix: float, beta: float = 1.0) -> torch.Tensor:
    """CIWAE: mix ELBO + (1 - mix) IWAE_k over the same k draws, the ELBO as their mean log
    weight (a k-draw estimate of it), per example: [B]. mix = 1: the ELBO; 0: IWAE_k."""
    _, lw = _weighted_draws(x, q, prior, decode, 1, k, beta, None)
    return mix * lw[0].mean(0) + (1 - mix) * _log_mean_exp(lw[0], 0)


class PIWAE(NamedTuple):
    iwae: torch.Tensor       # [B] IWAE_mk; its gradient: IWAE_mk's for p, MIWAE(m, k)'s for q
    miwae: torch.Tensor      # [B] MIWAE(m, k) over the same draws (no gradient)


def piwae(x: torch.Tensor, q: Distribution, prior: Distribution, decode: Decoder, m: int,
          k: int, beta: float = 1.0, stopped: Distribution | None = None) -> PIWAE:
    """PIWAE(m, k) on m k draws: the decoder and the prior trained by IWAE_mk, q by MIWAE(m, k)
    (DReG's gradient with `stopped`): Rainforth et al. compare PIWAE(8, 8) with IWAE_64, and
    pythae's PIWAE trains p by IWAE_mk too.
    MIWAE's surrogate weighs log weight i by w_i / m, IWAE_mk's by W_i (normalized over all m
    k draws); a second decoder pass, at z without gradient, moves p's weights from the one to
    the other. (One backward pass weighs each draw once: scaling q's gradient at z by w_i / (m
    W_i) instead would underflow where a set's weights are tiny in IWAE_mk's but not in its own.)"""
    z, lw = _weighted_draws(x, q, prior, decode, m, k, beta, stopped)
    set_bounds = _log_mean_exp(lw, 1)                               # [m, B]
    encoder = set_bounds.mean(0) if stopped is None else _dreg(lw, z, beta)
    w_all = torch.softmax(lw.detach().flatten(0, 1), 0).view_as(lw)  # W_i
    w_sets = torch.softmax(lw.detach(), 1) / m                      # w_i / m
    zd = z.detach().flatten(0, 1)
    generative = (decode(zd).log_prob(x) + beta * prior.log_prob(zd)).view_as(lw)
    shift = ((w_all - w_sets) * generative).sum((0, 1))
    value = _log_mean_exp(lw.flatten(0, 1), 0)
    return PIWAE(_with_gradient(value, encoder, shift), set_bounds.mean(0).detach())
