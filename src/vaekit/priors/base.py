"""The protocol of a prior p(z): what the VAE, the evaluation and the pictures ask of it.

A prior is an axis of its own: a registered spec (`PRIORS`) whose `build(latent, event_shape)`
gives a `Prior` module of the VAE. `VAE.prior()` asks it for p(z) afresh at every call, since
a learned prior's parameters (and, for the VampPrior, the encoder it reads) change every step.
Its parameters are the model's, so the optimizer, the checkpoints and DDP take them as they are.

The ELBO's KL against a learned prior has no closed form (torch registers none from a Gaussian
to a mixture): `Posterior.kl_layers` falls back to log q(z|x) - log p(z) at the ELBO's own draw
of z, an unbiased one-sample estimate, and free bits floor that total as one group.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution

from ..errors import VaekitError
from ..registry import Spec, check

# the latent families a learned prior replaces the prior of: a single diagonal-Gaussian vector.
# Hierarchical latents could take one on their top layer z_L (not wired); categorical and joint
# latents are discrete or part discrete, and a mixture of Gaussians is no prior for them.
FAMILIES = ("gaussian",)


class Prior(nn.Module):
    """p(z) of a VAE, event_shape [z_size]."""

    def distribution(self, model) -> Distribution:
        raise NotImplementedError

    def tempered(self, model, temperature: float) -> Distribution:
        """p(z) with every scale multiplied by `temperature` (samples at T < 1 are smoother;
        Kingma & Dhariwal 2018, NVAE, VDVAE); where the prior has no such form, one line."""
        raise VaekitError(f"--temperature: a {self.describe().split(':')[0]} prior has no "
                          "tempered form here; sample at temperature 1")

    def unit_variance(self, model) -> torch.Tensor | None:
        """Var_p(z_i) [z_size], the scale active units are measured against; None: 1 (the
        latent family's own prior, where Burda et al.'s threshold was set)."""
        return None

    def describe(self) -> str:
        """What p(z) is and how the ELBO's KL to it is computed: one line for the metrics."""
        raise NotImplementedError


class LearnedPrior(Prior):
    """A mixture p(z) with parameters of its own, over a diagonal-Gaussian z."""
    what = ""

    def unit_variance(self, model) -> torch.Tensor:
        # learned, z's scale is free (the decoder undoes any rescaling): measure against p's
        return self.distribution(model).variance.detach()

    def describe(self) -> str:
        return (f"{self.what}; KL by sampling, log q(z|x) - log p(z) at the ELBO's draw of z "
                "(in training also at --kl-samples - 1 more; no closed form against a mixture)")


class PriorSpec(Spec):
    """A prior's settings; `check_model` refuses the models it does not fit."""
    learned = True

    def check_model(self, config) -> None:
        check(config.kind == "vae", f"--prior {self.name} is for VAEs: the autoencoder and "
                                    "the GAN have no p(z) to learn (drop --prior)")
        check(config.latent.name in FAMILIES,
              f"--prior {self.name} is a prior over one Gaussian latent vector (--latent "
              f"gaussian); {config.latent.name} latents keep their own prior")

    def validate(self) -> "PriorSpec":
        check(self.components >= 1, f"prior_components must be >= 1, got {self.components}")
        return self
