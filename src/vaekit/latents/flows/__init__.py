"""Normalizing-flow posteriors (Rezende & Mohamed 2015): q(z|x) is a diagonal Gaussian
N(mu, sigma^2) pushed through T invertible steps z_t = f_t(z_{t-1}), so that exactly

    log q(z_T|x) = log N(z_0; mu, sigma^2) - sum_t log |det df_t/dz_{t-1}|.

A flow is one file here (a `Flow` module that builds its steps from the encoder's extra
outputs) and its name in FLOWS; the Gaussian family's `--flow` builds it (latents/gaussian.py).
"""

from .base import Flow, FlowPosterior, FlowStep
from .iaf import IAF
from .planar import Planar

FLOWS = {"planar": Planar, "iaf": IAF}

__all__ = ["FLOWS", "Flow", "FlowPosterior", "FlowStep", "IAF", "Planar"]
