"""Amortized inference: lambda = encoder(x), one network for every x (Kingma & Welling 2014).
Encoder and decoder maximise one bound together."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Spec


@dataclass
class Amortized(Spec):
    name = "amortized"
    encoder = True
    local_state = False
    distributed = True
    mstep_steps = 1

    def params(self, model, x, init=None):
        return model.encode(x)

    def loss(self, model, x, loss_and_terms, init=None):
        return (*loss_and_terms(model.encode(x)), None)
