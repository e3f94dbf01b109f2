"""Model kinds: the VAE and the lecture's contrasts, each with its training step and its rules.

`build_model(config, event_shape, networks)` gives the model a ModelConfig describes; the
trainer asks `KINDS[kind]` for its step (training/). A kind says what its data need (the VAE
and the autoencoder: their likelihood's; the GAN learns the images themselves), and which
settings it takes: `check_model` and `check_training` refuse, with one line, a setting that
the kind would otherwise silently ignore.
"""

from __future__ import annotations

from dataclasses import dataclass

from .baselines import GAN, Autoencoder
from .inference import Amortized
from .latents import Gaussian
from .model import VAE
from .registry import check
from .training.baseline_steps import AutoencoderStep, GANStep
from .training.vae_step import VAEStep

# TrainConfig fields that only a VAE's objective uses, with their neutral values
VAE_ONLY = {"objective": "elbo", "k": 1, "beta": 1.0, "warmup_epochs": 0.0, "free_bits": 0.0}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type
    step: type
    bound: bool = False           # it trains a bound on log p(x) (ELBO or IWAE, KL weight)
    uses_likelihood: bool = True
    distributed: bool = False     # data-parallel training is written for it
    schedules: bool = True        # it follows lr_schedule

    def data(self, config) -> str:
        return config.likelihood.data if self.uses_likelihood else "raw"

    def check_model(self, config) -> None:
        check(self.bound or (isinstance(config.latent, Gaussian)
                             and isinstance(config.inference, Amortized)),
              "the autoencoder and the GAN use a plain latent vector and an encoder "
              "(--latent gaussian, --inference amortized)")

    def check_training(self, config) -> None:
        if self.bound:
            check(config.objective != "iwae" or config.model.latent.iwae,
                  f"the iwae objective is not available for {config.model.latent.name} latents "
                  "(its weights would need the relaxed densities); train with elbo, evaluate "
                  "log p(x) as usual")
            return
        given = [k for k, neutral in VAE_ONLY.items() if getattr(config, k) != neutral]
        check(not given, f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for VAEs; "
                         f"a {self.name} has no ELBO, KL or bound")
        check(self.schedules or config.lr_schedule == "constant",
              f"a {self.name} trains at a constant learning rate (--lr-schedule constant)")


KINDS = {"vae": Kind("vae", VAE, VAEStep, bound=True, distributed=True),
         "ae": Kind("ae", Autoencoder, AutoencoderStep),
         "gan": Kind("gan", GAN, GANStep, uses_likelihood=False, schedules=False)}


def build_model(config, event_shape: tuple[int, ...], networks=None):
    """The model `config` (a ModelConfig) describes for examples of `event_shape`, on its own
    networks or on `networks` (networks.Networks)."""
    return KINDS[config.kind].model(config, event_shape, networks)
