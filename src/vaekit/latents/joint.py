"""A discrete and a continuous latent together: y one of K classes, z Gaussian of D dimensions,
and p(x | y, z) (Kingma et al. 2014's M2 model; JointVAE, Dupont 2018, without labels).

    p(y) = 1/K,  p(z) = N(0, I),  q(y, z | x) = q(y | x) q(z | x, y).

q(z | x, y) has its own (mu, sigma) per class, from K heads of the encoder output; a value of
(y, z) is [y one-hot (K), z (D)]. The KL is exact, per part (y first). E_q[log p(x | y, z)]
is summed over the K classes (`discrete = "exact"`) or taken at one Gumbel-softmax sample of y
(`"relaxed"`); evaluation enumerates y either way (`importance_draws` stratifies by class).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import (Categorical, Distribution, Independent, Normal,
                                 RelaxedOneHotCategorical, kl_divergence, register_kl)

from ..registry import Spec, check
from ..settings import setting
from .base import Enumeration, LatentFamily, Labelled, OverVectors, Posterior
from .gaussian import MIN_SCALE, standard_normal


class JointPosterior(OverVectors, Posterior):
    """q(y, z | x): batch_shape [B], event_shape [K + D]."""
    has_rsample = True

    def __init__(self, logits, loc, scale, tau, exact: bool):
        self.logits = logits.log_softmax(-1)           # [B, K]
        self.loc, self.scale = loc, scale              # [B, K, D]
        self.tau, self.exact = tau, exact
        self.classes = logits.shape[-1]
        super().__init__(logits.shape[:-1], torch.Size([self.classes + loc.shape[-1]]),
                         validate_args=False)

    @property
    def probs(self) -> torch.Tensor:
        return self.logits.exp()

    def given(self, y: torch.Tensor) -> Independent:
        """q(z | x, y) for a class per example y [..., B] (long)."""
        index = y.unsqueeze(-1).unsqueeze(-1).expand(*y.shape, 1, self.loc.shape[-1])
        loc = self.loc.expand(*y.shape, *self.loc.shape[-2:]).gather(-2, index).squeeze(-2)
        scale = self.scale.expand(*y.shape, *self.scale.shape[-2:]).gather(-2, index)
        return Independent(Normal(loc, scale.squeeze(-2), validate_args=False), 1,
                           validate_args=False)

    def class_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(*y.shape, self.classes).gather(-1, y.unsqueeze(-1)).squeeze(-1)

    def _with_class(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.one_hot(y, self.classes).to(z), z], -1)

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """A relaxed y (Gumbel-softmax), then z from the heads mixed by it."""
        y = RelaxedOneHotCategorical(self.tau, logits=self.logits,
                                     validate_args=False).rsample(sample_shape)   # [.., B, K]
        loc = (y.unsqueeze(-1) * self.loc).sum(-2)
        scale = (y.unsqueeze(-1) * self.scale).sum(-2)
        return torch.cat([y, loc + scale * torch.randn_like(loc)], -1)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            y = Categorical(logits=self.logits, validate_args=False).sample(sample_shape)
            return self._with_class(y, self.given(y).sample())

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """log q(y, z | x) at a one-hot y."""
        y = value[..., :self.classes].argmax(-1)
        return self.class_log_prob(y) + self.given(y).log_prob(value[..., self.classes:])

    def per_class(self, sample_shape=torch.Size(), reparameterized: bool = True):
        """For every class y, z ~ q(z | x, y): values [*sample_shape, K, B, K + D]."""
        shape = torch.Size(sample_shape)
        y = torch.arange(self.classes, device=self.loc.device).unsqueeze(-1)
        y = y.expand(*shape, self.classes, self.loc.shape[0])                  # [.., K, B]
        q = self.given(y)
        return self._with_class(y, q.rsample() if reparameterized else q.sample())

    def enumeration(self, n: int, reparameterized: bool) -> Enumeration | None:
        """y summed out: always in evaluation, in training when `exact`."""
        if self.exact or not reparameterized:
            return Enumeration(self.per_class((n,), reparameterized), self.probs.T)
        return None

    def importance_draws(self, k: int, reparameterized: bool = True):
        """K ceil(k / K) draws stratified by class, and their log-density (1/K) q(z | x, y)."""
        m = -(-k // self.classes)
        v = self.per_class((m,), reparameterized).flatten(0, 1)
        y = v[..., :self.classes].argmax(-1)
        return v, self.given(y).log_prob(v[..., self.classes:]) - math.log(self.classes)

    def labelled_terms(self, prior: "JointPrior", y: torch.Tensor) -> Labelled:
        """For known classes y [B]: (y, z ~ q(z|x,y)), log p(y), KL(q(z|x,y) || p(z)) exactly."""
        qz = self.given(y)
        return Labelled(self._with_class(y, qz.rsample()), prior.class_log_prob(y),
                        kl_divergence(qz, prior.z_part))

    def classify(self) -> torch.Tensor:
        return self.logits.argmax(-1)

    def kl_layers(self, prior, z=None) -> torch.Tensor:
        """[B, 2]: KL(q(y|x) || p(y)) and sum_y q(y|x) KL(q(z|x,y) || p(z)), exactly."""
        kl_y = (self.probs * (self.logits + math.log(self.classes))).sum(-1)
        kl_z = kl_divergence(Normal(self.loc, self.scale, validate_args=False),
                             prior.z_part.base_dist).sum(-1)                   # [B, K]
        return torch.stack([kl_y, (self.probs * kl_z).sum(-1)], -1)

    @property
    def mean(self) -> torch.Tensor:
        return torch.cat([self.probs, (self.probs.unsqueeze(-1) * self.loc).sum(-2)], -1)


class JointPrior(OverVectors, Distribution):
    """p(y) p(z): y uniform over K classes, z ~ N(0, I); event_shape [K + D]."""

    def __init__(self, classes: int, zero: torch.Tensor, one: torch.Tensor):
        self.classes, self.z_part = classes, standard_normal(zero, one)
        super().__init__(torch.Size(), torch.Size([classes + len(zero)]), validate_args=False)

    def class_log_prob(self, y: torch.Tensor) -> torch.Tensor:
        return torch.full(y.shape, -math.log(self.classes), device=y.device)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        z = self.z_part.sample(sample_shape)
        y = torch.randint(self.classes, z.shape[:-1], device=z.device)
        return torch.cat([F.one_hot(y, self.classes).to(z), z], -1)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        return self.z_part.log_prob(value[..., self.classes:]) - math.log(self.classes)


@register_kl(JointPosterior, JointPrior)
def _kl_joint(q: JointPosterior, p: JointPrior) -> torch.Tensor:
    return q.kl_layers(p).sum(-1)


class JointLatent(LatentFamily):
    def __init__(self, classes: int, dim: int, exact: bool, tau: float):
        super().__init__()
        self.classes, self.dim, self.exact, self.tau = classes, dim, exact, tau
        self.dims = (classes, dim)              # the parts: y (one-hot), z
        self.param_size = classes * (1 + 2 * dim)
        self.z_size = self.decoder_size = classes + dim
        self.register_buffer("_zero", torch.zeros(dim), persistent=False)
        self.register_buffer("_one", torch.ones(dim), persistent=False)

    def posterior(self, params: torch.Tensor) -> JointPosterior:
        logits, heads = params.split([self.classes, self.param_size - self.classes], -1)
        mu, pre = heads.unflatten(-1, (self.classes, 2 * self.dim)).chunk(2, -1)
        return JointPosterior(logits, mu, F.softplus(pre) + MIN_SCALE,
                              torch.tensor(self.tau, device=params.device), self.exact)

    def prior(self) -> JointPrior:
        return JointPrior(self.classes, self._zero, self._one)

    def class_grid(self, ncol: int) -> torch.Tensor:
        """A row per class y (one-hot), the same z ~ p(z) down each column: [K * ncol, K + D]."""
        z = standard_normal(self._zero, self._one).sample((ncol,))                 # [ncol, D]
        y = torch.eye(self.classes, device=z.device).repeat_interleave(ncol, 0)     # [K*ncol, K]
        return torch.cat([y, z.repeat(self.classes, 1)], -1)


@dataclass
class Joint(Spec):
    """y one of K classes and z Gaussian of D dimensions; q(y|x) q(z|x,y)."""
    name = "joint"
    iwae = True                   # with y enumerated (stratified), the weights are exact
    dreg = False                  # its draws are stratified by class
    classes: int = setting(10, "classes K of y")
    dim: int = setting(50, "size of the Gaussian style z", flag="latent-dim")
    discrete: str = setting(
        "exact", "y summed out exactly in training (K decoder passes) or one Gumbel-softmax "
        "sample (evaluation always sums exactly)", choices=("exact", "relaxed"))
    tau: float = setting(0.67, "the Gumbel-softmax temperature of y (relaxed only)")

    def validate(self) -> "Joint":
        check(self.classes >= 2, f"classes must be >= 2, got {self.classes}")
        check(self.dim >= 1, f"latent_dim must be >= 1, got {self.dim}")
        check(self.discrete in ("exact", "relaxed"),
              f"discrete must be exact or relaxed, got {self.discrete!r}")
        check(self.tau > 0, f"tau must be > 0, got {self.tau}")
        return self

    def build(self) -> JointLatent:
        return JointLatent(self.classes, self.dim, self.discrete == "exact", self.tau)
