"""Priors p(z), an axis of the model: `standard` (the latent family's own, N(0, I) for Gaussian
latents), `mog` (a learned mixture of Gaussians) and `vamp` (the VampPrior, Tomczak & Welling
2018). A prior is a registered spec (`PRIORS`) whose `build(latent, event_shape)` gives a
`Prior` module (base.py); `VAE.prior()` delegates to it.
"""

from ..registry import Registry
from .base import FAMILIES, LearnedPrior, Prior, PriorSpec
from .mixture import GaussianMixture, mixture
from .mog import MixtureOfGaussians, MoGPrior
from .standard import Standard, StandardPrior
from .vamp import Vamp, VampPrior

PRIORS = Registry("prior")
for _spec in (Standard, MixtureOfGaussians, Vamp):
    PRIORS.register(_spec)

__all__ = ["PRIORS", "FAMILIES", "Prior", "LearnedPrior", "PriorSpec", "GaussianMixture",
           "mixture", "Standard", "StandardPrior", "MixtureOfGaussians", "MoGPrior", "Vamp",
           "VampPrior"]
