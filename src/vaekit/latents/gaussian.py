"""Diagonal Gaussian latents: p(z) = N(0, I), q(z|x) = N(mu(x), diag sigma(x)^2).
Sampling is `rsample`, the reparameterization z = mu + sigma * eps (Kingma & Welling 2014); q
is an `IndependentPosterior` with the protocol's defaults (latents/base.py). With a flow
(`--flow planar|iaf`, latents/flows/), q is that Gaussian pushed through T invertible steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.distributions import Distribution, Independent, Normal

from ..registry import Spec, check, near
from ..settings import is_default, setting
from .base import IndependentPosterior, LatentFamily, Posterior
from .flows import FLOWS, Flow
from .standard_normal import StandardNormal

MIN_SCALE = 1e-5  # keeps log sigma finite when softplus underflows


def diagonal_gaussian(params: torch.Tensor) -> IndependentPosterior:
    """[..., 2D] network outputs (mu, pre-softplus sigma) -> N(mu, diag sigma^2) over [D]."""
    mu, pre = params.chunk(2, dim=-1)
    scale = F.softplus(pre) + MIN_SCALE
    return IndependentPosterior(same_shape_normal(mu, scale), 1, validate_args=False)


def same_shape_normal(loc: torch.Tensor, scale: torch.Tensor) -> Normal:
    """Normal(loc, scale) for two tensors of one shape (the caller's guarantee: here two halves
    of one chunk), as torch's constructor makes it less its broadcast of the two (a tenth of the
    Python a training step spends on q)."""
    normal = Normal.__new__(Normal)
    normal.loc, normal.scale = loc, scale
    Distribution.__init__(normal, loc.shape, validate_args=False)
    return normal


def standard_normal(zero: torch.Tensor, one: torch.Tensor) -> Independent:
    return Independent(StandardNormal(zero, one), 1, validate_args=False)


class GaussianLatent(LatentFamily):
    def __init__(self, dim: int, flow: Flow | None = None):
        super().__init__()
        self.dims = (dim,)           # one stochastic layer
        self.flow = flow             # its weights, if any, are saved with the model
        # encoder gives (mu, pre-softplus sigma), then what the flow reads
        self.param_size = 2 * dim + (flow.param_size if flow is not None else 0)
        self.z_size = dim
        self.decoder_size = dim
        self.kl_sampled = flow is not None
        if flow is not None:
            self.point_name = "f(mu), the flow at q's base mean"   # a flow has no closed-form mean
        self.register_buffer("_zero", torch.zeros(dim), persistent=False)
        self.register_buffer("_one", torch.ones(dim), persistent=False)
        self._standard = None

    def posterior(self, params: torch.Tensor) -> Posterior:
        if self.flow is None:
            return diagonal_gaussian(params)
        base, extra = params.split([2 * self.z_size, self.flow.param_size], -1)
        return self.flow.posterior(diagonal_gaussian(base), extra)

    def gaussian(self, params: torch.Tensor) -> IndependentPosterior:
        """q's diagonal Gaussian: q itself, or the base a flow pushes forward."""
        return diagonal_gaussian(params[..., :2 * self.z_size])

    tempered = True

    def prior(self, temperature: float = 1.0) -> Independent:
        """N(0, I); at `temperature` T != 1 N(0, T^2 I), for samples (`vaekit sample
        --temperature`)."""
        if temperature == 1.0:          # one object while the buffers stay (~20 us a step)
            if self._standard is None or self._standard.base_dist.loc is not self._zero:
                self._standard = standard_normal(self._zero, self._one)
            return self._standard
        return Independent(Normal(self._zero, self._one * temperature), 1, validate_args=False)


@dataclass
class Gaussian(Spec):
    """z ~ N(0, I) of `dim` dimensions; q(z|x) a diagonal Gaussian, or one pushed through a
    flow. Only this family offers flows: a hierarchy's KL and priors go layer by layer (a flow
    mixes the layers), a categorical z has no bijection to push through, and M2's labelled
    terms and enumeration need q(z|x,y)'s closed-form KL. Their specs have no flow field, so
    --flow with them is refused in one line."""
    name = "gaussian"
    iwae = True                   # the IWAE objective applies
    dim: int = setting(50, "latent size", flag="latent-dim")
    flow: str = setting(
        "none", "q(z|x) as N(mu, sigma^2) pushed through invertible steps (exact log q; the "
        "KL becomes log q(z) - log p(z) at the ELBO's draw): none | planar (Rezende & Mohamed "
        "2015, each step's parameters from the encoder) | iaf (inverse autoregressive, "
        "Kingma et al. 2016: MADEs read a context from the encoder)", choices=("none", *FLOWS))
    flow_steps: int = setting(4, "the flow's number of steps", metavar="T")
    flow_width: int = setting(64, "the iaf flow's context size (encoder outputs) and each "
                              "MADE's hidden width", metavar="H")

    @property
    def dreg(self) -> bool:
        """DReG applies: q's parameters are all the encoder's output (not a flow's: an iaf's
        MADE weights are the latent module's, and log q at stopped parameters would need the
        flow's inverse)."""
        return self.flow == "none"

    def validate(self) -> "Gaussian":
        check(self.dim >= 1, f"latent_dim must be >= 1, got {self.dim}")
        check(self.flow in ("none", *FLOWS), f"unknown flow {self.flow!r}"
              f"{near(self.flow, FLOWS)}; choose none, {', '.join(FLOWS)}")
        check(self.flow_steps >= 1, f"flow_steps must be >= 1, got {self.flow_steps}")
        check(self.flow_width >= 1, f"flow_width must be >= 1, got {self.flow_width}")
        check(self.flow != "none" or is_default(self, "flow_steps"),
              "flow_steps is a flow's number of steps: give --flow planar or --flow iaf")
        check(self.flow == "iaf" or is_default(self, "flow_width"),
              "flow_width is the iaf flow's context size and hidden width: give --flow iaf")
        return self

    def build(self) -> GaussianLatent:
        if self.flow == "none":
            return GaussianLatent(self.dim)
        return GaussianLatent(self.dim, FLOWS[self.flow].of(self))
