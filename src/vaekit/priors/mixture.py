"""A mixture of diagonal Gaussians, p(z) = sum_k pi_k N(z; mu_k, diag sigma_k^2): torch's
MixtureSameFamily over Independent(Normal), with two exact paths that scale with K:

- log_prob: sum_d (z_d - mu_kd)^2 / sigma_kd^2 expanded into two matrix products, [..., K]
  with no [..., K, Z] temporary. Measured on a loaded 2-core CPU, one thread, digits with
  Burda's MLP, K = 500, Z = 50: log p(x) (K=1000 draws, 20 images) took 24.2 s by
  MixtureSameFamily's path (58 times the standard prior's 0.42 s), 1.4 s this way; a training
  step 285 ms, then 61 ms (standard: 20). The expansion cancels (z^2 / sigma^2 against
  2 z mu / sigma^2): in float32 it was off by 0.33 nats at sigma = 0.01, so it runs in float64
  (float32 on MPS, which has none) and returns the value's dtype.
- sample: one component per draw, then its Gaussian (MixtureSameFamily draws all K per draw).
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal


class GaussianMixture(MixtureSameFamily):
    """logits [K], loc and scale [K, Z]: batch_shape [], event_shape [Z]."""

    def __init__(self, logits: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor):
        super().__init__(Categorical(logits=logits, validate_args=False),
                         Independent(Normal(loc, scale, validate_args=False), 1,
                                     validate_args=False), validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """value [..., Z] -> [...]."""
        wide = torch.float32 if value.device.type == "mps" else torch.float64
        normal = self.component_distribution.base_dist
        loc, scale, z = normal.loc.to(wide), normal.scale.to(wide), value.to(wide)
        w = scale.pow(-2)                                                        # [K, Z]
        squares = z.pow(2) @ w.T - 2 * z @ (loc * w).T + (loc.pow(2) * w).sum(-1)  # [..., K]
        log_norm = scale.log().sum(-1) + 0.5 * loc.shape[-1] * math.log(2 * math.pi)
        logits = self.mixture_distribution.logits.to(wide)                      # log pi [K]
        return torch.logsumexp(logits - log_norm - 0.5 * squares, -1).to(value.dtype)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            k = self.mixture_distribution.sample(sample_shape)                   # [*S]
            normal = self.component_distribution.base_dist
            loc, scale = normal.loc[k], normal.scale[k]                         # [*S, Z]
            return loc + scale * torch.randn_like(loc)


def mixture(logits: torch.Tensor, components) -> MixtureSameFamily:
    """sum_k softmax(logits)_k components_k: logits [K], components batch [K], event [Z]; a
    GaussianMixture where the components are diagonal Gaussians, else MixtureSameFamily."""
    base = getattr(components, "base_dist", None)
    if isinstance(components, Independent) and type(base) is Normal and base.loc.dim() == 2:
        return GaussianMixture(logits, base.loc, base.scale)
    return MixtureSameFamily(Categorical(logits=logits, validate_args=False), components,
                             validate_args=False)
