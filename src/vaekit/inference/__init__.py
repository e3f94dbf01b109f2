"""Inference schemes: how q(z|x) is found, independent of the latent family and the likelihood.

- amortized: lambda = encoder(x), one network for every x (Kingma & Welling 2014);
- vem (non-amortized, the E-step of variational EM): free parameters lambda_i for each data
  point, each maximising its own ELBO(x_i, lambda_i) until a stopping rule holds;
- semi (semi-amortized): lambda_i = encoder(x_i), then S gradient steps on ELBO(x_i, lambda_i)
  (Kim et al. 2018).
A scheme is a registered spec (`INFERENCE`) with
- `params(model, x, init=None)`: lambda(x) [B, param_size] (for evaluation),
- `loss(model, x, loss_and_terms, init=None)`: (training loss, values to log, lambda to keep
  or None), where `loss_and_terms(lambda)` gives (the loss: the negative bound, values to
  log) at q = latent.posterior(lambda),
and class attributes `encoder` (it needs one), `local_state` (it keeps lambda per training
example), `distributed` (it trains data-parallel) and `mstep_steps` (decoder steps per batch).
Adding a scheme is a module here and its line below.
"""

from ..registry import Registry
from .amortized import Amortized
from .local import Fitted, LocalOptimizer, optimize, refine
from .semi import SemiAmortized
from .vem import VariationalEM

INFERENCE = Registry("inference scheme")
for _spec in (Amortized, SemiAmortized, VariationalEM):
    INFERENCE.register(_spec)

__all__ = ["INFERENCE", "Amortized", "SemiAmortized", "VariationalEM", "Fitted",
           "LocalOptimizer", "optimize", "refine"]
