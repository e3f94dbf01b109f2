"""Hierarchical Gaussian latents: two or more stochastic layers (the lecture's p(x | z1, z2)).

    p(z) = p(z_L) prod_{l<L} p(z_l | z_{l+1}),   p(z_L) = N(0, I),
    p(z_l | z_{l+1}) = N(mu_l(z_{l+1}), diag sigma_l(z_{l+1})^2)   (mean and variance networks)
and the decoder reads z_1 only, or every layer (`decoder_sees="all"`). q over z = [z_1..z_L]:
- bottom-up (Burda et al. 2015): q(z_1|x) q(z_2|z_1) ... q(z_L|z_{L-1});
- top-down (ladder, Sonderby et al. 2016): an upward pass h_{l+1} = f_l(h_l), h_1 = enc(x),
  then downward q(z_l|z_{l+1}, x), the precision-weighted combination of N(h_l) with p(z_l|z_{l+1}).
Per-layer KL terms are closed form where q and p condition alike (the top layer; every layer
top-down), else one-sample Monte Carlo with the exact entropy of q(z_1|x).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Distribution, Independent, Normal, kl_divergence

from ..networks.activations import ACTIVATIONS
from ..networks.mlp import mlp
from ..registry import Spec, check
from ..settings import setting
from .base import LatentFamily, OverVectors, Posterior
from .gaussian import MIN_SCALE, diagonal_gaussian, standard_normal

MEAN_SAMPLES = 512   # Monte Carlo samples for E_q[z] where it has no closed form


class HierarchicalLatent(LatentFamily):
    def __init__(self, dims: tuple[int, ...], q_hidden: tuple[tuple[int, ...], ...],
                 p_hidden: tuple[tuple[int, ...], ...], activation: str = "tanh",
                 decoder_sees: str = "z1", path: str = "bottom-up"):
        super().__init__()
        self.dims, self.path = tuple(dims), path
        self.param_size = 2 * dims[0]
        self.z_size = sum(dims)
        self.decoder_sees = decoder_sees
        self.decoder_size = self.z_size if decoder_sees == "all" else dims[0]
        L, width = len(dims), 1 if path == "bottom-up" else 2
        # bottom-up: z_l -> q(z_{l+1} | z_l); top-down: h_l -> h_{l+1}, deterministic
        self.up = nn.ModuleList(mlp(width * dims[l], q_hidden[l], 2 * dims[l + 1], activation)
                                for l in range(L - 1))
        self.down = nn.ModuleList(mlp(dims[l + 1], p_hidden[l], 2 * dims[l], activation)
                                  for l in range(L - 1))   # z_{l+1} -> p(z_l | z_{l+1})
        self.register_buffer("_zero", torch.zeros(dims[-1]), persistent=False)
        self.register_buffer("_one", torch.ones(dims[-1]), persistent=False)

    def top_prior(self) -> Independent:
        return standard_normal(self._zero, self._one)

    def conditional_prior(self, l: int, z_above: torch.Tensor) -> Independent:
        """p(z_l | z_{l+1}) for layer index l (0-based, l < L-1)."""
        return diagonal_gaussian(self.down[l](z_above))

    def prior(self) -> "HierarchicalPrior":
        return HierarchicalPrior(self)

    def posterior(self, params: torch.Tensor) -> "HierarchicalPosterior":
        return HierarchicalPosterior(self, params)

    def split(self, z: torch.Tensor) -> list[torch.Tensor]:
        return list(z.split(self.dims, dim=-1))

    def decoder_input(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.decoder_sees == "all" else z[..., : self.dims[0]]


def _precision_weighted(estimate: torch.Tensor, prior: Independent) -> Independent:
    """Combine N(mu_hat, s_hat) from the upward pass with p(z_l|z_{l+1}) (Sonderby et al. eq. 19)."""
    mu_hat, pre = estimate.chunk(2, dim=-1)
    prec_hat = (F.softplus(pre) + MIN_SCALE).pow(-2)
    prec_p = prior.base_dist.scale.pow(-2)
    var = 1.0 / (prec_hat + prec_p)
    loc = (mu_hat * prec_hat + prior.base_dist.loc * prec_p) * var
    return Independent(Normal(loc, var.sqrt(), validate_args=False), 1, validate_args=False)


class HierarchicalPrior(OverVectors, Distribution):
    """p(z) = p(z_L) prod p(z_l | z_{l+1}) over the concatenated z [..., sum(dims)]."""
    has_rsample = True

    def __init__(self, latent: HierarchicalLatent):
        self.latent = latent
        super().__init__(torch.Size(), torch.Size([latent.z_size]), validate_args=False)

    def layers(self, parts: list[torch.Tensor]) -> list[Distribution]:
        """The per-layer conditionals [p(z_1|z_2), ..., p(z_L)] at the given values."""
        lat = self.latent
        return [lat.conditional_prior(l, parts[l + 1]) for l in range(len(parts) - 1)] + \
               [lat.top_prior()]

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        lat = self.latent
        zs = [lat.top_prior().rsample(sample_shape)]
        for l in reversed(range(len(lat.dims) - 1)):
            zs.insert(0, lat.conditional_prior(l, zs[0]).rsample())
        return torch.cat(zs, dim=-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        parts = self.latent.split(z)
        return sum(d.log_prob(p) for d, p in zip(self.layers(parts), parts))


class HierarchicalPosterior(OverVectors, Posterior):
    """q(z|x) over the concatenated z, bottom-up or top-down; batch_shape [B]."""
    has_rsample = True

    def __init__(self, latent: HierarchicalLatent, params: torch.Tensor):
        self.latent, self.params = latent, params               # params: encoder output [B, 2 d_1]
        if latent.path == "top-down":
            self.h = [params]
            for f in latent.up:
                self.h.append(f(self.h[-1]))                    # [B, 2 d_{l+1}]
        super().__init__(params.shape[:-1], torch.Size([latent.z_size]), validate_args=False)

    def _layer(self, l: int, parts: list) -> Independent:
        """q of layer l given parts[l-1] (bottom-up) or parts[l+1] (top-down)."""
        lat = self.latent
        if lat.path == "bottom-up":
            return diagonal_gaussian(self.params if l == 0 else lat.up[l - 1](parts[l - 1]))
        if l == len(lat.dims) - 1:
            return diagonal_gaussian(self.h[l])
        return _precision_weighted(self.h[l], lat.conditional_prior(l, parts[l + 1]))

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        L = len(self.latent.dims)
        parts: list = [None] * L
        order = range(L) if self.latent.path == "bottom-up" else reversed(range(L))
        for i, l in enumerate(order):
            parts[l] = self._layer(l, parts).rsample(sample_shape if i == 0 else torch.Size())
        return torch.cat(parts, dim=-1)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        parts = self.latent.split(z)
        return sum(self._layer(l, parts).log_prob(parts[l]) for l in range(len(parts)))

    def kl_layers(self, prior: HierarchicalPrior, z: torch.Tensor | None = None) -> torch.Tensor:
        """Per-layer KL estimates at z (a fresh draw when None): [..., L], z_1 first."""
        parts = self.latent.split(self.rsample() if z is None else z)
        p_layers = prior.layers(parts)
        L = len(parts)
        out = []
        for l in range(L):
            q_l = self._layer(l, parts)
            if self.latent.path == "top-down" or l == L - 1:    # q and p condition alike
                term = kl_divergence(q_l, p_layers[l])
            elif l == 0:     # q(z_1|x) does not depend on the sample: its entropy is exact
                term = -q_l.entropy() - p_layers[l].log_prob(parts[l])
            else:
                term = q_l.log_prob(parts[l]) - p_layers[l].log_prob(parts[l])
            out.append(term.expand(parts[l].shape[:-1]))   # the top layer may not depend on z
        return torch.stack(out, dim=-1)

    @property
    def mean(self) -> torch.Tensor:
        """E_q[z]: exact for the first sampled layer, Monte Carlo (MEAN_SAMPLES) for the rest."""
        with torch.no_grad():
            total = sum(self.rsample((64,)).sum(0) for _ in range(MEAN_SAMPLES // 64))
            parts = self.latent.split(total / MEAN_SAMPLES)
            first = 0 if self.latent.path == "bottom-up" else len(parts) - 1
            parts[first] = self._layer(first, [None] * len(parts)).mean
        return torch.cat(parts, dim=-1)


@dataclass
class Hierarchical(Spec):
    """Layers z_1..z_L (default: Burda et al.'s two-layer model, [100, 50])."""
    name = "hierarchical"
    iwae = True
    dreg = False                  # q(z_2|z_1)'s network is not cut off from the gradient
    # --latent-dim D1: z_1's size over the default upper layers (from_options)
    extra_flags = {"latent_dim": ("size of z_1", "100")}
    dims: tuple[int, ...] = setting((100, 50), "sizes of z_1..z_L", flag="latent-dims",
                                    metavar="D1,D2,...")
    # q(z_{l+1} | z_l) and p(z_l | z_{l+1}), l = 1..L-1; the flag gives one for every layer
    q_hidden: tuple[tuple[int, ...], ...] = setting(
        ((100, 100),), "hidden sizes of each q(z_l+1|z_l)", flag="q-upper-hidden",
        metavar="H1,...")
    p_hidden: tuple[tuple[int, ...], ...] = setting(
        ((100, 100),), "hidden sizes of each p(z_l|z_l+1)", flag="p-upper-hidden",
        metavar="H1,...")
    activation: str = setting("tanh", "activation of the layers' networks")
    decoder_sees: str = setting("z1", "p(x|z_1) or p(x|z_1..z_L)", choices=("z1", "all"))
    path: str = setting("bottom-up", "inference order (top-down, the ladder: retired, kept "
                        "for old runs; new runs: --latent topdown)",
                        flag="posterior-path", choices=("bottom-up", "top-down"))

    @classmethod
    def from_options(cls, given: dict, base: "Hierarchical | None" = None) -> "Hierarchical":
        """--latent-dims (or --latent-dim D1), one --q/p-upper-hidden for every layer."""
        spec = super().from_options(given, base)
        if not any(given.get(k) for k in ("latent_dim", "latent_dims", "q_upper_hidden",
                                          "p_upper_hidden")):
            return spec
        dims = given.get("latent_dims") or (given.get("latent_dim") or spec.dims[0],
                                            *spec.dims[1:])
        q = given.get("q_upper_hidden") or spec.q_hidden[0]
        p = given.get("p_upper_hidden") or spec.p_hidden[0]
        n = len(dims) - 1
        spec.dims, spec.q_hidden, spec.p_hidden = tuple(dims), (tuple(q),) * n, (tuple(p),) * n
        return spec

    def validate(self) -> "Hierarchical":
        check(len(self.dims) >= 1 and all(d >= 1 for d in self.dims),
              "latent layer sizes must be >= 1")
        n = len(self.dims) - 1
        check(len(self.q_hidden) == n and len(self.p_hidden) == n,
              f"{n} upper latent layers need {n} q_hidden and p_hidden entries")
        check(all(h >= 1 for h in sum(self.q_hidden + self.p_hidden, ())),
              "hidden layer sizes must be >= 1")
        check(self.activation in ACTIVATIONS,
              f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}")
        check(self.decoder_sees in ("z1", "all"),
              f"decoder_sees must be z1 or all, got {self.decoder_sees!r}")
        check(self.path in ("bottom-up", "top-down"),
              f"posterior path must be bottom-up or top-down, got {self.path!r}")
        return self

    def retired(self) -> str | None:
        if self.path == "top-down":
            return ("--posterior-path top-down (the two-layer ladder) is kept for old runs only: "
                    "it trained far worse than bottom-up (test NLL 253.9 against 235.6 on "
                    "Fashion-MNIST); train the deep top-down hierarchy, --latent topdown, instead")
        return None

    def build(self) -> HierarchicalLatent:
        return HierarchicalLatent(self.dims, self.q_hidden, self.p_hidden, self.activation,
                                  self.decoder_sees, self.path)
