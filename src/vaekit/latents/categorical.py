"""Categorical latents with the Gumbel-softmax (Jang, Gu & Poole 2017; Maddison et al. 2017).

z is N categorical variables of K classes, one-hot, flattened to [N*K]; the prior is uniform.
Training draws from the relaxation (`rsample`: relaxed, or straight-through: hard forward,
relaxed gradient); `sample` and `log_prob` are the discrete model's, so evaluation is exact.
tau = max(tau_min, tau_0 exp(-rate * step)), updated every `anneal_every` steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import (Distribution, Independent, OneHotCategorical,
                                 RelaxedOneHotCategorical, kl_divergence, register_kl)

from ..registry import Spec, check
from ..settings import setting
from .base import LatentFamily, OverVectors, Posterior


class CategoricalPosterior(OverVectors, Posterior):
    """q(z|x): batch_shape [B], event_shape [N*K] (one-hot blocks of K)."""
    has_rsample = True

    def __init__(self, logits: torch.Tensor, tau: torch.Tensor, straight_through: bool):
        self.logits = logits.log_softmax(-1)                            # [B, N, K]
        self.tau, self.straight_through = tau, straight_through
        self.categorical = Independent(OneHotCategorical(logits=self.logits, validate_args=False),
                                       1, validate_args=False)          # event [N, K]
        n, k = logits.shape[-2:]
        super().__init__(logits.shape[:-2], torch.Size([n * k]), validate_args=False)

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        relaxed = RelaxedOneHotCategorical(self.tau, logits=self.logits,
                                           validate_args=False).rsample(sample_shape)
        if self.straight_through:
            hard = F.one_hot(relaxed.argmax(-1), relaxed.shape[-1]).to(relaxed)
            relaxed = hard - relaxed.detach() + relaxed                 # hard forward, soft grad
        return relaxed.flatten(-2)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            return self.categorical.sample(sample_shape).flatten(-2)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return self.categorical.log_prob(z.unflatten(-1, self.logits.shape[-2:]))

    @property
    def mean(self) -> torch.Tensor:
        return self.logits.exp().flatten(-2)

    @property
    def units(self) -> OneHotCategorical:
        """The N variables, batch_shape [B, N]: the groups of free bits."""
        return self.categorical.base_dist

    def kl_groups(self, prior: "CategoricalPrior", layers: torch.Tensor) -> torch.Tensor:
        """KL of each variable to the uniform prior: [B, N]."""
        return kl_divergence(self.units, prior.units).flatten(len(self.batch_shape))


class CategoricalPrior(OverVectors, Distribution):
    """Uniform p(z) over N independent K-class one-hot variables, event_shape [N*K]."""

    def __init__(self, logits: torch.Tensor):                           # [N, K] zeros
        self.logits = logits
        self.categorical = Independent(OneHotCategorical(logits=logits, validate_args=False), 1,
                                       validate_args=False)
        super().__init__(torch.Size(), torch.Size([logits.numel()]), validate_args=False)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self.categorical.sample(sample_shape).flatten(-2)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return self.categorical.log_prob(z.unflatten(-1, self.logits.shape))

    @property
    def units(self) -> OneHotCategorical:
        return self.categorical.base_dist


@register_kl(CategoricalPosterior, CategoricalPrior)
def _kl_categorical_uniform(q: CategoricalPosterior, p: CategoricalPrior) -> torch.Tensor:
    return kl_divergence(q.categorical, p.categorical)


class CategoricalLatent(LatentFamily):
    def __init__(self, n_vars: int = 20, n_classes: int = 10, tau: float = 1.0,
                 tau_min: float = 0.5, anneal_rate: float = 3e-5, anneal_every: int = 500,
                 straight_through: bool = False):
        super().__init__()
        self.n_vars, self.n_classes = n_vars, n_classes
        self.dims = (n_vars * n_classes,)
        self.param_size = self.z_size = self.decoder_size = n_vars * n_classes
        self.tau0, self.tau_min = tau, tau_min
        self.anneal_rate, self.anneal_every = anneal_rate, anneal_every
        self.straight_through = straight_through
        self.register_buffer("tau", torch.tensor(float(tau)))           # saved with the weights
        self.register_buffer("_logits", torch.zeros(n_vars, n_classes), persistent=False)

    def anneal(self, step: int) -> None:
        if step % self.anneal_every == 0:
            self.tau.fill_(max(self.tau_min, self.tau0 * math.exp(-self.anneal_rate * step)))

    @property
    def temperature(self) -> float:
        return self.tau.item()

    def posterior(self, params: torch.Tensor) -> CategoricalPosterior:
        logits = params.unflatten(-1, (self.n_vars, self.n_classes))
        return CategoricalPosterior(logits, self.tau, self.straight_through)

    def prior(self) -> CategoricalPrior:
        return CategoricalPrior(self._logits)


@dataclass
class Categorical(Spec):
    """N categorical variables of K classes, trained with the Gumbel-softmax relaxation."""
    name = "categorical"
    # the IWAE weights of a relaxed sample would need the relaxed densities: not offered
    iwae = False
    dreg = False                  # DReG: no reparameterized density to stop
    vars: int = setting(20, "variables N", flag="categorical-vars")
    classes: int = setting(10, "classes K of each variable", flag="categorical-classes")
    tau: float = setting(1.0, "initial Gumbel-softmax temperature tau_0")
    tau_min: float = setting(0.5, "final temperature")
    anneal_rate: float = setting(3e-5, "tau = max(tau_min, tau_0 exp(-rate step))")
    anneal_every: int = setting(500, "steps between temperature updates")
    straight_through: bool = setting(False, "hard one-hot forward, relaxed gradient backward")

    def validate(self) -> "Categorical":
        check(self.vars >= 1 and self.classes >= 2,
              "categorical latents need >= 1 variable of >= 2 classes")
        check(0 < self.tau_min <= self.tau,
              f"need 0 < tau_min <= tau, got {self.tau_min}, {self.tau}")
        check(self.anneal_rate >= 0 and self.anneal_every >= 1,
              "anneal_rate must be >= 0 and anneal_every >= 1")
        return self

    def build(self) -> CategoricalLatent:
        return CategoricalLatent(self.vars, self.classes, self.tau, self.tau_min,
                                 self.anneal_rate, self.anneal_every, self.straight_through)
