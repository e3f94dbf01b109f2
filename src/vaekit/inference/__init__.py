"""Inference schemes: how q(z|x) is found, independent of the latent family and the likelihood.

- amortized: lambda = encoder(x), one network for every x (Kingma & Welling 2014);
- vem (the E-step of variational EM): free parameters lambda_i for each data point;
- semi (semi-amortized): lambda_i = encoder(x_i), then S gradient steps (Kim et al. 2018).
A scheme is a registered spec (`INFERENCE`) with `params(model, x, init=None)` and
`loss(model, x, loss_and_terms, init=None)` -> (training loss, values to log, lambda or None).
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
