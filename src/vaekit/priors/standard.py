"""The latent family's own prior (N(0, I) for Gaussian latents): nothing learned, the default."""

from __future__ import annotations

from dataclasses import dataclass

from torch.distributions import Distribution

from ..errors import VaekitError
from .base import Prior, PriorSpec


class StandardPrior(Prior):
    def distribution(self, model) -> Distribution:
        return model.latent.prior()

    def tempered(self, model, temperature: float) -> Distribution:
        """The family's own prior at `temperature`, where it has one (gaussian: N(0, T^2 I);
        topdown: every group's scale times T)."""
        if not model.latent.tempered:
            raise VaekitError(f"--temperature: the {model.config.latent.name} latent family's "
                              "prior has no tempered form (gaussian and topdown have)")
        return model.latent.prior(temperature=temperature)

    def describe(self) -> str:
        return ("standard: the latent family's own (N(0, I) for gaussian latents); KL as the "
                "family computes it (closed form for gaussian)")


@dataclass
class Standard(PriorSpec):
    """p(z) as the latent family defines it."""
    name = "standard"
    learned = False

    def check_model(self, config) -> None:
        pass

    def validate(self) -> "Standard":
        return self

    def build(self, latent, event_shape) -> StandardPrior:
        return StandardPrior()
