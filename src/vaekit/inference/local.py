"""Optimizing q's parameters for each example by Adam on the per-example ELBO: the E-step of
variational EM (`optimize`) and the refinement of semi-amortized inference (`refine`).

The stopping rule of `optimize`: after every `window` iterations, the window's average iterate
is scored by the batch ELBO with `check_samples` common random numbers (so successive scores
differ by the change of q, not by noise). When the score rises by no more than `tol`
(relative), the step size halves and the window doubles; after `patience` halvings, or
`max_iter` iterations, it returns the last window's average (Polyak-Ruppert averaging).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import devices
from ..objectives import elbo


@dataclass
class LocalOptimizer:
    lr: float = 0.02          # Adam step size on lambda
    samples: int = 8          # Monte Carlo samples of z per ELBO gradient
    window: int = 25          # iterations per convergence check
    check_samples: int = 32   # common-random-number samples of the score at each check
    tol: float = 1e-4         # relative rise of the score below which lr halves
    patience: int = 3         # halvings before stopping
    max_iter: int = 5000      # cap on iterations

    @classmethod
    def for_model(cls, model, **overrides) -> "LocalOptimizer":
        """Settings with the model's own step size, where its inference scheme has one."""
        return cls(**{"lr": getattr(model.inference, "lr", cls.lr), **overrides})


@dataclass
class Fitted:
    params: torch.Tensor      # [B, param_size] lambda, detached
    iterations: int
    converged: bool           # the stopping rule held before max_iter


def _neg_elbo(model, x: torch.Tensor, params: torch.Tensor, samples: int) -> torch.Tensor:
    """-sum over the batch of the per-example ELBO at q = latent.posterior(params)."""
    q = model.latent.posterior(params)
    return -elbo(x, q, model.prior(), model.observation, n=samples).elbo.sum()


def optimize(model, x: torch.Tensor, init: torch.Tensor,
             settings: LocalOptimizer = LocalOptimizer(), bar=None) -> Fitted:
    """Maximise each example's ELBO over its lambda from `init` (`bar`: a progress bar or None)."""
    seed = int(torch.randint(2 ** 62, ()))

    def score(lam: torch.Tensor) -> float:
        with torch.no_grad(), devices.seeded(x.device, seed):   # the same noise at each check
            q = model.latent.posterior(lam)
            return elbo(x, q, model.prior(), model.observation,
                        n=settings.check_samples).elbo.sum().item()

    lr, window, halvings = settings.lr, settings.window, 0
    previous = score(init)
    with torch.enable_grad():
        lam = init.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([lam], lr=lr)
        average, count = torch.zeros_like(lam), 0
        for it in range(1, settings.max_iter + 1):
            lam.grad, = torch.autograd.grad(_neg_elbo(model, x, lam, settings.samples), lam)
            opt.step()
            average, count = average + lam.detach(), count + 1
            if count < window:
                continue
            if bar is not None:
                bar.update(count)
            result, average, count = average / count, torch.zeros_like(lam), 0
            current = score(result)
            if current - previous <= settings.tol * abs(previous):
                halvings += 1
                if halvings > settings.patience:
                    return Fitted(result, it, True)
                lr, window = lr / 2, window * 2      # smaller steps, judged over longer
                for group in opt.param_groups:
                    group["lr"] = lr
            previous = current
    return Fitted(average / count if count else result, settings.max_iter, False)


def refine(model, x: torch.Tensor, init: torch.Tensor, steps: int, lr: float = 0.02,
           samples: int = 4) -> torch.Tensor:
    """Semi-amortized: `steps` Adam steps on each ELBO from `init`; the refined lambda, detached."""
    with torch.enable_grad():
        lam = init.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([lam], lr=lr)
        for _ in range(steps):
            lam.grad, = torch.autograd.grad(_neg_elbo(model, x, lam, samples), lam)
            opt.step()
    return lam.detach()
