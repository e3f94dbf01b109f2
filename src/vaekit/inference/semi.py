"""Semi-amortized inference (Kim et al. 2018): lambda = encoder(x), then S Adam steps on each
example's ELBO (local.refine). The decoder maximises the bound at the refined q, the encoder at
its own output (the refinement is not differentiated through).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..registry import Spec, check
from ..settings import setting
from .local import refine


@dataclass
class SemiAmortized(Spec):
    name = "semi"
    encoder = True
    local_state = False
    distributed = False
    mstep_steps = 1
    refine_steps: int = setting(5, "refinement steps S from the encoder's output")
    lr: float = setting(0.02, "Adam step on q's parameters", flag="local-lr")

    def validate(self) -> "SemiAmortized":
        check(self.refine_steps >= 1, f"refine_steps must be >= 1, got {self.refine_steps}")
        check(self.lr > 0, f"local_lr must be > 0, got {self.lr}")
        return self

    def params(self, model, x, init=None):
        return refine(model, x, model.encode(x), self.refine_steps, self.lr)

    def loss(self, model, x, loss_and_terms, init=None):
        start = model.encode(x)
        loss, values = loss_and_terms(refine(model, x, start, self.refine_steps, self.lr))
        encoder_loss, _ = loss_and_terms(start)
        # the encoder's gradient alone, by the chain rule through its output, so that the
        # decoder's parameters are trained on the refined bound only
        grad, = torch.autograd.grad(encoder_loss, start)
        return loss + (start * grad).sum(), values, None
