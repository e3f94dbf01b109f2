"""The VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior"): the prior is the variational
mixture of posteriors at K learned pseudo-inputs u_k shaped like the data,

    p(z) = (1/K) sum_k q(z | u_k),

with q(z|u_k) = latent.posterior(encoder(u_k)): the prior is read through the model's encoder,
so it needs one (no variational EM) and moves with it. Under a flow posterior the components
are q's base Gaussians N(mu(u_k), sigma(u_k)^2), the flow left out: its density at a z not
drawn through it needs the flow inverted, for every k at every z. The weights are uniform, as in the paper.
The pseudo-inputs are hardtanh(v_k) into the data's range [0, 1] (the paper's hardtanh), with v
starting uniform on [0, 1]; an entry of v pushed outside [0, 1] has no gradient, as in the paper.
Under semi-amortized inference q(z|u_k) is the encoder's, unrefined.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import MixtureSameFamily

from ..registry import check
from ..settings import setting
from .base import LearnedPrior, PriorSpec
from .mixture import mixture


class VampPrior(LearnedPrior):
    def __init__(self, event_shape: tuple[int, ...], components: int):
        super().__init__()
        self.raw = nn.Parameter(torch.rand(components, *event_shape))     # [K, *event]
        self.what = f"vamp: the mixture of q(z|u_k) at {components} learned pseudo-inputs"

    def pseudo_inputs(self) -> torch.Tensor:
        """u [K, *event] in [0, 1]."""
        return F.hardtanh(self.raw, 0.0, 1.0)

    def distribution(self, model) -> MixtureSameFamily:
        """The mixture of q(z|u_k)'s Gaussians (under a flow posterior, of its base Gaussians:
        a flow's density at any z would need every flow inverted there)."""
        q = model.latent.gaussian(model.encode(self.pseudo_inputs()))   # batch [K], event [Z]
        return mixture(self.raw.new_zeros(len(self.raw)), q)


@dataclass
class Vamp(PriorSpec):
    """VampPrior: p(z) = (1/K) sum_k q(z|u_k) over K learned pseudo-inputs u_k."""
    name = "vamp"
    components: int = setting(500, "K, the learned inputs u_k (500 in the paper, for MNIST)",
                              flag="prior-components", metavar="K")

    def check_model(self, config) -> None:
        super().check_model(config)
        check(config.inference.encoder, "--prior vamp reads p(z) through the encoder at its "
              f"pseudo-inputs; --inference {config.inference.name} has none (use amortized "
              "or semi)")

    def build(self, latent, event_shape) -> VampPrior:
        return VampPrior(tuple(event_shape), self.components)
