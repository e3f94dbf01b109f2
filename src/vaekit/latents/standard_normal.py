"""The standard normal prior N(0, I) as its own type, so that its KL has its own formula.

KL(N(mu, sigma^2) || N(0, 1)) = 0.5 (mu^2 + sigma^2 - 1) - log sigma per dimension: about half
the operations of torch's general Normal-Normal KL, which matters in every training step.
"""

from __future__ import annotations

import torch
from torch.distributions import Normal, register_kl


class StandardNormal(Normal):
    """N(0, 1) elementwise, with `shape` as batch_shape (wrap in Independent for a vector)."""

    def __init__(self, zeros: torch.Tensor, ones: torch.Tensor):
        super().__init__(zeros, ones, validate_args=False)


@register_kl(Normal, StandardNormal)
def _kl_normal_standard_normal(q: Normal, p: StandardNormal) -> torch.Tensor:
    return 0.5 * (q.loc.pow(2) + q.scale.pow(2) - 1) - q.scale.log()
