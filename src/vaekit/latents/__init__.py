"""Latent families: the prior p(z) and the posterior family q(z|x) built from encoder outputs.

A family is an `nn.Module` with
- `param_size`: how many encoder outputs one posterior needs,
- `z_size`: the width of a sample z that the decoder reads,
- `posterior(params) -> Distribution` over z (batch_shape [B], event_shape [z_size]),
- `prior() -> Distribution` (event_shape [z_size]).
Adding a family is adding a module here and a line in `LATENTS`.
"""

from .gaussian import GaussianLatent

LATENTS = {"gaussian": GaussianLatent}


def build_latent(config):
    return LATENTS[config.latent].from_config(config)
