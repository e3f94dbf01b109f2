"""Likelihoods p(x|z): the decoder's outputs are the parameters of a distribution over x.

A likelihood is an `nn.Module` with
- `param_size(x_dim)`: how many decoder outputs it needs,
- `forward(params) -> Distribution` over x (event_shape [x_dim]),
- `mean_image(dist)`: what to draw for a picture, in [0, 1].
"""

from .bernoulli import BernoulliLikelihood
from .gaussian import GaussianLikelihood

LIKELIHOODS = {"bernoulli": BernoulliLikelihood, "gaussian": GaussianLikelihood}


def build_likelihood(config):
    return LIKELIHOODS[config.likelihood].from_config(config)
