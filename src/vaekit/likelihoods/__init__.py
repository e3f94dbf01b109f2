"""Likelihoods p(x|z): the decoder's outputs are the parameters of a distribution over x.
A likelihood is a registered spec (`LIKELIHOODS`) that declares the data it needs and builds a
`Likelihood` module for an example shape (base.py).
"""

from ..registry import Registry
from .base import Likelihood
from .bernoulli import Bernoulli, BernoulliLikelihood, IndependentBernoulli
from .dgaussian import DGaussian
from .dlogistic_mix import DLogisticMix
from .gaussian import Gaussian, GaussianLikelihood

LIKELIHOODS = Registry("likelihood")
for _spec in (Bernoulli, Gaussian, DLogisticMix, DGaussian):
    LIKELIHOODS.register(_spec)


def default_for(event_shape: tuple[int, ...]) -> str:
    """Bernoulli for grey or vector data (binarized), Gaussian for colour images."""
    return "gaussian" if len(event_shape) == 3 and event_shape[0] == 3 else "bernoulli"


__all__ = ["LIKELIHOODS", "Likelihood", "Bernoulli", "BernoulliLikelihood",
           "IndependentBernoulli", "Gaussian", "GaussianLikelihood", "DLogisticMix", "DGaussian",
           "default_for"]
