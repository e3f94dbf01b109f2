"""Planar flows (Rezende & Mohamed 2015, section 4.1): each step

    f(z) = z + u_hat tanh(w.z + b),   log|det df/dz| = log(1 + (1 - tanh^2(w.z + b)) w.u_hat)

with u, w, b amortized, from the encoder per example as in the paper: 2D + 1 outputs a step.
Amortized, vem's E-step and the gap report's q* optimize every parameter of q per example
(an iaf's MADE weights, by contrast, are shared: there only mu, sigma and the context h are).
Invertible because w.u_hat = m(w.u) > -1 (the paper's u_hat reparameterization), with
m(a) = -1 + softplus(a + log(e - 1)) instead of the paper's -1 + softplus(a): m(0) = 0, so u = 0
is the identity whatever w, and u_hat stays bounded (|u_hat - u| <= 0.37 |u| near w = 0, where
the paper's correction grows as 0.31 / |w|) -- vem starts every parameter at 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import Flow, FlowStep

SHIFT = math.log(math.e - 1)      # softplus(SHIFT) = 1: m(0) = 0
ROOT_ITERATIONS = 100             # at most, for the inverse (it stops once converged)


class PlanarStep(FlowStep):
    def __init__(self, u: torch.Tensor, w: torch.Tensor, b: torch.Tensor):
        """u, w [B, D], b [B, 1]."""
        super().__init__()
        wu = (w * u).sum(-1, keepdim=True)
        # w.u_hat > -1, [B, 1]; kept above -1 in floating point too (softplus underflows)
        self.m = (F.softplus(wu + SHIFT) - 1).clamp_min(torch.finfo(wu.dtype).eps - 1)
        norm2 = w.pow(2).sum(-1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)
        self.u_hat = u + (self.m - wu) * w / norm2                    # [B, D]
        self.w, self.b = w, b

    def forward_and_log_det(self, z):
        t = torch.tanh((z * self.w).sum(-1, keepdim=True) + self.b)   # [..., B, 1]
        return z + self.u_hat * t, torch.log1p(self.m * (1 - t * t)).squeeze(-1)

    def _newton(self, a, target):
        """a - g(a) / g'(a) for g(a) = a + m tanh(a + b) - target, and g(a)."""
        t = torch.tanh(a + self.b)
        g = a + self.m * t - target
        return a - g / (1 + self.m * (1 - t * t)), g

    def _inverse(self, y):
        """a = w.z solves the increasing g(a) = 0, inside w.y -+ |m|: Newton's method kept in a
        shrinking bracket (bisection where it leaves it), without gradient; then one more
        Newton step, which gives the gradient of the implicit function."""
        target = (y * self.w).sum(-1, keepdim=True)                  # [..., B, 1]
        with torch.no_grad():
            lo, hi = target - self.m.abs(), target + self.m.abs()
            a = target - self.m * torch.tanh(target + self.b)         # inside the bracket
            for _ in range(ROOT_ITERATIONS):
                new, g = self._newton(a, target)
                lo, hi = torch.where(g < 0, a, lo), torch.where(g > 0, a, hi)
                new = torch.where((new >= lo) & (new <= hi), new, (lo + hi) / 2)
                # quadratic convergence: the step after one of sqrt(eps) is at eps
                done = bool(((new - a).abs() <= torch.finfo(a.dtype).eps ** 0.5
                             * (1 + a.abs())).all())
                a = new
                if done:
                    break
        a = self._newton(a, target)[0]
        return y - self.u_hat * torch.tanh(a + self.b)


class Planar(Flow):
    """T planar steps over D dimensions, parameters from the encoder: T (2D + 1) outputs."""

    def __init__(self, dim: int, steps: int):
        super().__init__()
        self.dim, self.steps = dim, steps
        self.param_size = steps * (2 * dim + 1)

    @classmethod
    def of(cls, spec) -> "Planar":
        return cls(spec.dim, spec.flow_steps)

    def transforms(self, params):
        D, size = self.dim, 2 * self.dim + 1
        return [PlanarStep(*params[..., t * size:(t + 1) * size].split([D, D, 1], -1))
                for t in range(self.steps)]
