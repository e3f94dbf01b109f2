"""Latent families: the prior p(z) and the posterior family q(z|x) built from encoder outputs.

A family is an `nn.Module` with
- `param_size`: how many encoder outputs one posterior needs,
- `z_size`: the width of a sample z; `dims`: the widths of its stochastic layers,
- `decoder_size` and `decoder_input(z)`: what of z the decoder reads,
- `posterior(params) -> Distribution` over z (batch_shape [B], event_shape [z_size]),
- `prior() -> Distribution` (event_shape [z_size]).
A family may also have `anneal(step)`, which the trainer calls before every step.
Adding a family is adding a module here and a line in `LATENTS`.
"""

from .categorical import CategoricalLatent
from .gaussian import GaussianLatent
from .hierarchical import HierarchicalLatent

LATENTS = {"gaussian": GaussianLatent, "hierarchical": HierarchicalLatent,
           "categorical": CategoricalLatent}


def build_latent(config):
    return LATENTS[config.latent].from_config(config)
