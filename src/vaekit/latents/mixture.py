"""An equal-weight mixture of distributions over the same z, r(z) = (1/M) sum_m q_m(z): a
defensive importance-sampling proposal (Hesterberg 1995), never much worse than its best
component. Each draw picks a component uniformly, independently for every sample and example.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Distribution

from .base import OverVectors, Posterior


class EqualMixture(OverVectors, Posterior):

    def __init__(self, components: list[Distribution]):
        if not components:
            raise ValueError("a mixture needs at least one component")
        self.components = list(components)
        first = self.components[0]
        super().__init__(first.batch_shape, first.event_shape, validate_args=False)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        draws = torch.stack([c.sample(sample_shape) for c in self.components])  # [M, *S, *B, Z]
        pick = torch.randint(len(self.components), draws.shape[1:-1], device=draws.device)
        return draws.gather(0, pick[None, ..., None].expand_as(draws[:1])).squeeze(0)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        logs = torch.stack([c.log_prob(value) for c in self.components])
        return torch.logsumexp(logs, 0) - math.log(len(self.components))
