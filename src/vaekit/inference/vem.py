"""Variational EM: no encoder. The E-step optimizes each example's q parameters until its
stopping rule holds (local.optimize, warm-started from the example's last value); the M-step
takes `mstep_steps` optimizer steps on the decoder at that q."""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import Spec, check
from ..settings import setting
from .local import LocalOptimizer, optimize


@dataclass
class VariationalEM(Spec):
    name = "vem"
    encoder = False
    local_state = True
    distributed = False
    lr: float = setting(0.02, "Adam step on q's parameters", flag="local-lr")
    max_iter: int = setting(300, "E-step iteration cap", flag="estep-max-iter")
    tol: float = setting(1e-3, "relative ELBO rise per window that counts as progress",
                         flag="estep-tol")
    mstep_steps: int = setting(1, "optimizer steps on the decoder per E-step")

    def validate(self) -> "VariationalEM":
        check(self.lr > 0, f"local_lr must be > 0, got {self.lr}")
        check(self.max_iter >= 1, f"estep_max_iter must be >= 1, got {self.max_iter}")
        check(self.tol >= 0, f"estep_tol must be >= 0, got {self.tol}")
        check(self.mstep_steps >= 1, f"mstep_steps must be >= 1, got {self.mstep_steps}")
        return self

    def settings(self) -> LocalOptimizer:
        return LocalOptimizer(lr=self.lr, tol=self.tol, max_iter=self.max_iter, window=10,
                              patience=1)

    def params(self, model, x, init=None):
        if init is None:
            init = x.new_zeros(len(x), model.latent.param_size)
        return optimize(model, x, init, self.settings()).params

    def loss(self, model, x, loss_and_terms, init=None):
        params = self.params(model, x, init)
        return (*loss_and_terms(params), params)
