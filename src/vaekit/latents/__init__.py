"""Latent families: the prior p(z) and the posterior family q(z|x) built from encoder outputs.

A family is a registered spec (`LATENTS`; its class attribute `iwae` says whether the IWAE
objective applies) whose `build()` gives an `nn.Module` with
- `param_size`: how many encoder outputs one posterior needs,
- `z_size`: the width of a sample z; `dims`: the widths of its stochastic layers,
- `decoder_size` and `decoder_input(z)`: what of z the decoder reads,
- `posterior(params) -> Distribution` over z (batch_shape [B], event_shape [z_size]),
- `prior() -> Distribution` (event_shape [z_size]).
A family may also have `anneal(step)`, which the trainer calls before every step.
Adding a family is adding a module here and its line below.
"""

from ..registry import Registry
from .categorical import Categorical, CategoricalLatent
from .gaussian import Gaussian, GaussianLatent
from .hierarchical import Hierarchical, HierarchicalLatent
from .joint import Joint, JointLatent

LATENTS = Registry("latent family")
for _spec in (Gaussian, Hierarchical, Categorical, Joint):
    LATENTS.register(_spec)

__all__ = ["LATENTS", "Gaussian", "GaussianLatent", "Hierarchical", "HierarchicalLatent",
           "Categorical", "CategoricalLatent", "Joint", "JointLatent"]
