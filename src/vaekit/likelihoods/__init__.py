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


# Grey images whose values are mostly at the ends (strokes on a blank ground) are binarized.
# Measured share of pixel values within 10% of either end (train splits): scikit-learn's digits
# 0.654, Fashion-MNIST 0.602; grey photographs 0.19 (the photo-patches in grey), smooth
# gradients with noise 0.001. The threshold lies between the two groups.
EXTREME_BAND = 0.1       # "at an end": within this fraction of the range from 0 or L - 1
EXTREME_SHARE = 0.5      # more than this share at the ends: strokes, Bernoulli


def extreme_share(x, levels: int) -> float:
    """The share of values within EXTREME_BAND of 0 or levels - 1 (x: levels 0..L-1), over
    the first 10,000 examples."""
    import numpy as np
    u = np.asarray(x[:10_000], dtype=np.float32) / (levels - 1)
    return float(((u <= EXTREME_BAND) | (u >= 1 - EXTREME_BAND)).mean())


def default_for(event_shape: tuple[int, ...], levels: int | None = None, train=None) -> str:
    """Gaussian for colour images; for grey images with levels (given the `train` examples)
    whose values are not mostly at the ends (extreme_share <= EXTREME_SHARE: photographs), the
    discretized logistic mixture over the levels; Bernoulli (binarized) for the rest: vector
    data, and grey images of strokes such as the digits, MNIST and Fashion-MNIST."""
    if len(event_shape) == 3 and event_shape[0] == 3:
        return "gaussian"
    grey_levels = len(event_shape) == 3 and levels is not None and levels > 2
    if grey_levels and train is not None and extreme_share(train, levels) <= EXTREME_SHARE:
        return "dlogistic-mix"
    return "bernoulli"


__all__ = ["LIKELIHOODS", "Likelihood", "Bernoulli", "BernoulliLikelihood",
           "IndependentBernoulli", "Gaussian", "GaussianLikelihood", "DLogisticMix", "DGaussian",
           "default_for"]
