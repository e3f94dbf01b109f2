"""Model kinds: the VAE and the lecture's contrasts, each with its training step.

`build_model(config, event_shape, networks)` gives the model a ModelConfig describes; the
trainer asks `KINDS[kind]` for its step (training/). A kind's `data` says what its data need
(for the VAE and the autoencoder: their likelihood's; the GAN learns the images themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

from .baselines import GAN, Autoencoder
from .model import VAE
from .training.baseline_steps import AutoencoderStep, GANStep
from .training.vae_step import VAEStep


@dataclass(frozen=True)
class Kind:
    model: type
    step: type
    uses_likelihood: bool = True
    distributed: bool = False     # data-parallel training is written for it

    def data(self, config) -> str:
        return config.likelihood.data if self.uses_likelihood else "raw"


KINDS = {"vae": Kind(VAE, VAEStep, distributed=True),
         "ae": Kind(Autoencoder, AutoencoderStep),
         "gan": Kind(GAN, GANStep, uses_likelihood=False)}


def build_model(config, event_shape: tuple[int, ...], networks=None):
    """The model `config` (a ModelConfig) describes for examples of `event_shape`, on its own
    networks or on `networks` (networks.Networks)."""
    config = config.resolved(event_shape)
    return KINDS[config.kind].model(config, event_shape, networks)
