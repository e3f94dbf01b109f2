"""Latent families: the prior p(z) and the posterior family q(z|x) built from encoder outputs.

A family is a registered spec (`LATENTS`; its class attribute `iwae` says whether the IWAE
objective applies) whose `build()` gives a `LatentFamily` module; base.py declares the
protocol and what the objectives ask of a `Posterior`, with defaults.
"""

from ..registry import Registry
from .base import LatentFamily, Posterior
from .categorical import Categorical, CategoricalLatent
from .gaussian import Gaussian, GaussianLatent
from .hierarchical import Hierarchical, HierarchicalLatent
from .joint import Joint, JointLatent
from .topdown import TopDown, TopDownLatent

LATENTS = Registry("latent family")
for _spec in (Gaussian, Hierarchical, Categorical, Joint, TopDown):
    LATENTS.register(_spec)

__all__ = ["LATENTS", "LatentFamily", "Posterior", "Gaussian", "GaussianLatent", "Hierarchical", "HierarchicalLatent",
           "Categorical", "CategoricalLatent", "Joint", "JointLatent", "TopDown", "TopDownLatent"]
