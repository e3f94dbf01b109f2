"""Bernoulli likelihood for binary data, parameterized by logits (one per pixel)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli as TorchBernoulli
from torch.distributions import Distribution, Independent

from ..errors import VaekitError
from ..registry import Spec
from .base import Likelihood


class IndependentBernoulli(Independent):
    """Independent(Bernoulli(logits=...), event_dims) whose log_prob sums before it negates (one
    pass fewer), and scores x [B, *event] against logits [K, B, *event] without copying x."""

    def __init__(self, logits: torch.Tensor, event_dims: int = 1):
        base = TorchBernoulli.__new__(TorchBernoulli)    # torch's, less broadcasting one tensor
        base.logits = base._param = logits
        Distribution.__init__(base, logits.shape, validate_args=False)
        super().__init__(base, event_dims, validate_args=False)
        self.event_dims = tuple(range(-event_dims, 0))        # the dims log_prob sums over

    @property
    def mode(self) -> torch.Tensor:
        """1 where p > 1/2, else 0 (torch's Bernoulli gives NaN at p = 1/2)."""
        logits = self.base_dist.logits
        return (logits > 0).to(logits.dtype)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        dims = self.event_dims
        logits = self.base_dist.logits
        if value.shape != logits.shape:
            if value.dim() <= logits.dim():
                return (logits * value).sum(dims) - F.softplus(logits).sum(dims)
            logits, value = torch.broadcast_tensors(logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none").sum(dims)


class BernoulliLikelihood(Likelihood):
    @property
    def param_shape(self) -> tuple[int, ...]:
        return self.event_shape

    def forward(self, logits: torch.Tensor) -> IndependentBernoulli:
        return IndependentBernoulli(logits, self.event_dims)

    def mean_image(self, dist: Independent) -> torch.Tensor:
        return dist.mean

    def baseline(self, mean: torch.Tensor, std: torch.Tensor) -> TorchBernoulli:
        return TorchBernoulli(probs=mean.clamp(1e-3, 1 - 1e-3))

    def check(self, x: torch.Tensor) -> None:
        if not ((x == 0) | (x == 1)).all():
            raise VaekitError("a Bernoulli likelihood needs binary data (0 or 1): binarize it first")


@dataclass
class Bernoulli(Spec):
    """p(x|z) = prod Bernoulli(x_d; sigmoid(logit_d(z))), for binary (binarized) data."""
    name = "bernoulli"
    data = "binary"

    def build(self, event_shape: tuple[int, ...]) -> BernoulliLikelihood:
        return BernoulliLikelihood(event_shape)
