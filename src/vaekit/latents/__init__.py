"""Latent families: the prior p(z) and the posterior family q(z|x) built from encoder outputs.

A family is a registered spec (`LATENTS`; its class attribute `iwae` says whether the IWAE
objective applies) whose `build()` gives a `LatentFamily` module (base.py) with
- `param_size`: how many encoder outputs one posterior needs,
- `z_size`: the width of a sample z; `dims`: the widths of its stochastic layers,
- `decoder_size` and `decoder_input(z)`: what of z the decoder reads,
- `posterior(params) -> Posterior` over z (batch_shape [B], event_shape [z_size]),
- `prior() -> Distribution` (event_shape [z_size]),
- `anneal(step)`, `temperature`, `classes` and `class_grid(ncol)`, with defaults.
base.py declares this protocol and what the objectives ask of a `Posterior`, with defaults.
Adding a family is adding a module here and its line below.
"""

from ..registry import Registry
from .base import LatentFamily, Posterior
from .categorical import Categorical, CategoricalLatent
from .gaussian import Gaussian, GaussianLatent
from .hierarchical import Hierarchical, HierarchicalLatent
from .joint import Joint, JointLatent

LATENTS = Registry("latent family")
for _spec in (Gaussian, Hierarchical, Categorical, Joint):
    LATENTS.register(_spec)

__all__ = ["LATENTS", "LatentFamily", "Posterior", "Gaussian", "GaussianLatent", "Hierarchical", "HierarchicalLatent",
           "Categorical", "CategoricalLatent", "Joint", "JointLatent"]
