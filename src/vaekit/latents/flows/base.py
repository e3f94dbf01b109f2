"""What every flow shares: a step is a torch `Transform` that computes its log-determinant with
its output, q is torch's `TransformedDistribution` with the posterior protocol.

log q at a draw of q costs nothing extra: each step keeps its last (input, output) (torch's
cache_size=1) and their log|det| (as Pyro's AffineAutoregressive does), so `log_prob` at the
ELBO's own draw neither inverts a step nor evaluates it again. Elsewhere `log_prob` inverts
(planar: a 1-D root; IAF: D passes); importance sampling never does (`importance_draws`).
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import torch
from torch import nn
from torch.distributions import Independent, TransformedDistribution, Transform, constraints

from ..base import Posterior


class FlowStep(Transform):
    """One invertible step over vectors [..., D] whose Jacobian determinant is positive."""
    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(self):
        super().__init__(cache_size=1)
        self._last = None                 # (x, y, log|det J|) of the last forward call

    def forward_and_log_det(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y = f(x) [..., D] and log|det df/dx| [...]."""
        raise NotImplementedError

    def _call(self, x):
        y, log_det = self.forward_and_log_det(x)
        self._last = (x, y, log_det)
        return y

    def log_abs_det_jacobian(self, x, y):
        last = self._last
        if last is not None and x is last[0] and y is last[1]:
            return last[2]
        return self.forward_and_log_det(x)[1]


class FlowPosterior(Posterior, TransformedDistribution):
    """q(z_T|x): batch_shape [B], event_shape [D]. Its KL has no closed form, so the protocol's
    default estimates it at the ELBO's own draw: log q(z) - log p(z), one sample."""

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """log q(z) [..., B]; -inf, not NaN, where a step's inverse overflows on the way back to
        z_0 (a point that far out has no density in floating point)."""
        log_q = super().log_prob(value)
        return torch.where(log_q.isnan(), -math.inf, log_q)

    def importance_draws(self, k: int, reparameterized: bool = True
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """k draws [k, B, D] and log q [k, B] summed along the way, never inverting a step;
        without reparameterization (evaluation) under no_grad, so log q has no gradient."""
        with nullcontext() if reparameterized else torch.no_grad():
            z = self.base_dist.rsample((k,))
            log_q = self.base_dist.log_prob(z)
            for step in self.transforms:
                z, log_det = step.forward_and_log_det(z)
                log_q = log_q - log_det
        return z, log_q

    def point(self) -> torch.Tensor:
        """The steps applied to the base mean mu: the image of q_0's centre, [B, D] (E_q[z] has
        no closed form; f(mu) is a point of high density, and deterministic)."""
        z = self.base_dist.mean
        for step in self.transforms:
            z = step.forward_and_log_det(z)[0]
        return z


class Flow(nn.Module):
    """T steps over z [..., D]; `param_size` encoder outputs per example condition them."""
    param_size: int

    @classmethod
    def of(cls, spec) -> "Flow":
        """The flow a `Gaussian` spec asks for (its dim, flow_steps, ...)."""
        raise NotImplementedError

    def transforms(self, params: torch.Tensor) -> list[FlowStep]:
        """The steps for the encoder's extra outputs `params` [B, param_size]."""
        raise NotImplementedError

    def posterior(self, base: Independent, params: torch.Tensor) -> FlowPosterior:
        return FlowPosterior(base, self.transforms(params), validate_args=False)
