"""Inverse autoregressive flows (Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling 2016):
each step reads z and a context h from the encoder through a MADE (Germain et al. 2015), whose
outputs m_i, s_i depend on h and on the z_j before i only, and takes the gated update

    sigma = sigmoid(s + 2),   z' = (sigma z + (1 - sigma) m) / sigmoid(2),
    log|det dz'/dz| = sum_i log sigma_i - D log sigmoid(2)

(the paper's numerically stable form, its +2 start for s, divided by the constant sigmoid(2)):
the MADE's output layer starts at zero, so a step starts as the identity and the flow's q as
the Gaussian family's. Its Jacobian is triangular; the variable order is reversed at every
other step, so that each z_i comes to depend on every other. The MADE weights are global (in
the latent family's module); h is per example, `width` encoder outputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .base import Flow, FlowStep

GATE_BIAS = 2.0                                   # s starts near +2: sigma near 1
SIGMA0 = 1 / (1 + math.exp(-GATE_BIAS))           # sigmoid(GATE_BIAS)


class MaskedLinear(nn.Linear):
    def __init__(self, n_in: int, n_out: int, mask: torch.Tensor, bias: bool = True):
        super().__init__(n_in, n_out, bias)
        self.register_buffer("mask", mask.to(self.weight.dtype), persistent=False)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """(z [..., D], h [B, H]) -> (m, s), each [..., D]; output i sees h and the inputs before i
    in the order 1..D (`reverse`: D..1). One hidden layer of `width` ELU units."""

    def __init__(self, dim: int, width: int, reverse: bool):
        super().__init__()
        place = torch.arange(dim, 0, -1) if reverse else torch.arange(1, dim + 1)   # [D]
        # a hidden unit of degree k sees the inputs at places <= k and feeds the outputs at
        # places > k; degrees cycle through 1..D-1 (all 0 when D = 1: the context only)
        degree = torch.arange(width) % max(dim - 1, 1) + min(dim - 1, 1)            # [W]
        self.register_buffer("place", place, persistent=False)
        self.hidden = MaskedLinear(dim, width, degree[:, None] >= place[None, :])
        self.context = nn.Linear(width, width, bias=False)
        self.out = MaskedLinear(width, 2 * dim, place.repeat(2)[:, None] > degree[None, :])
        nn.init.zeros_(self.out.weight)           # the step starts as the identity
        nn.init.zeros_(self.out.bias)

    def forward(self, z: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.out(F.elu(self.hidden(z) + self.context(h))).chunk(2, -1)


class IAFStep(FlowStep):
    def __init__(self, made: MADE, h: torch.Tensor):
        super().__init__()
        self.made, self.h = made, h

    def _gate(self, z):
        """m, log sigma and log(1 - sigma) at z."""
        m, s = self.made(z, self.h)
        s = s + GATE_BIAS
        return m, F.logsigmoid(s), F.logsigmoid(-s)

    def forward_and_log_det(self, z):
        m, log_sigma, log_rest = self._gate(z)
        y = (log_sigma.exp() * z + log_rest.exp() * m) / SIGMA0
        return y, (log_sigma - math.log(SIGMA0)).sum(-1)

    def _inverse(self, y):
        """D passes, pass i solving for the variable at place i from those before it (the
        others stay 0: a value not yet solved could overflow, and 0 x inf is NaN)."""
        z = torch.zeros_like(y)
        for i in range(1, y.shape[-1] + 1):
            m, log_sigma, log_rest = self._gate(z)
            solved = (SIGMA0 * y - log_rest.exp() * m) / log_sigma.exp()
            z = torch.where(self.made.place == i, solved, z)
        return z


class IAF(Flow):
    """T IAF steps over D dimensions, MADEs of `width` hidden units; h: `width` outputs."""

    def __init__(self, dim: int, steps: int, width: int):
        super().__init__()
        self.mades = nn.ModuleList(MADE(dim, width, reverse=t % 2 == 1) for t in range(steps))
        self.param_size = width

    @classmethod
    def of(cls, spec) -> "IAF":
        return cls(spec.dim, spec.flow_steps, spec.flow_width)

    def transforms(self, params):
        return [IAFStep(made, params) for made in self.mades]
