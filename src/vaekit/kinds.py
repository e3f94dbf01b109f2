"""Model kinds: the VAE and the lecture's contrasts (a plain autoencoder, a GAN), as facts.

What validation needs to know about a kind: what its data need (the VAE and the autoencoder:
their likelihood's; the GAN learns the images themselves) and which settings it takes.
`check_model` and `check_training` refuse a setting the kind would silently ignore.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .inference import Amortized
from .latents import Gaussian
from .registry import check
from .settings import is_default

PLURAL = {"vae": "VAEs", "ae": "autoencoders", "gan": "GANs"}


@dataclass(frozen=True)
class Kind:
    name: str
    bound: bool = False           # it trains a bound on log p(x) (ELBO or IWAE, KL weight)
    uses_likelihood: bool = True
    distributed: bool = False     # data-parallel training is written for it
    lacks: str = "has no ELBO, KL or bound"   # why the settings of other kinds do not apply

    def data(self, config) -> str:
        return config.likelihood.data if self.uses_likelihood else "raw"

    def check_model(self, config) -> None:
        check(self.bound or (isinstance(config.latent, Gaussian) and config.latent.flow == "none"
                             and isinstance(config.inference, Amortized)),
              "the autoencoder and the GAN use a plain latent vector and an encoder "
              "(--latent gaussian without --flow, --inference amortized)")

    def check_training(self, config) -> None:
        """Refuse a setting declared for other kinds that is not at its default."""
        if self.bound:
            latent = config.model.latent
            check(config.objective == "elbo" or latent.iwae,
                  f"the {config.objective} objective is not available for {latent.name} "
                  "latents (its weights would need the relaxed densities); train with elbo, "
                  "evaluate log p(x) as usual")
            # each family declares `dreg`: whether DReG applies (gaussian without a flow)
            check(config.gradient == "standard" or latent.dreg,
                  f"the dreg gradient is not available for {latent.name} latents as configured "
                  "(it needs a q whose parameters are all the encoder's output: gaussian "
                  "without a flow); give --gradient standard")
        for f in fields(config):
            kinds = f.metadata.get("kinds")
            if kinds and self.name not in kinds and not is_default(config, f.name):
                owners = " and ".join(PLURAL[k] for k in kinds)
                check(False, f"{f.name} is for {owners}; a {self.name} {self.lacks}")


KINDS = {"vae": Kind("vae", bound=True, distributed=True),
         "ae": Kind("ae"),
         "gan": Kind("gan", uses_likelihood=False,
                     lacks="has no ELBO, KL or bound, and trains at a constant learning rate")}
