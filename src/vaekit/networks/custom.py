"""Your own encoder and decoder modules.

    vaekit.train(config, run_dir, networks=vaekit.Networks(encoder, decoder))

The encoder maps x [B, *event_shape] to [B, P], the latent family's parameter count; the
decoder maps z [B, Z] to [B, *param_shape], the likelihood's parameter shape. Both are checked
on a small batch when the model is built. A run records the class names in a `Custom` spec.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from torch import nn

from ..errors import VaekitError
from ..registry import Spec
from ..settings import setting


class Networks(NamedTuple):
    encoder: nn.Module | None      # None for variational EM (no encoder)
    decoder: nn.Module


@dataclass
class Custom(Spec):
    """A record of user modules; building from it asks for the modules again."""
    name = "custom"
    encoder_class: str = setting("", "the encoder module's class (a record: Python API only)",
                                 flag=None)
    decoder_class: str = setting("", "the decoder module's class (a record: Python API only)",
                                 flag=None)

    def validate(self) -> "Custom":
        if not self.decoder_class:
            raise VaekitError("the custom network records your own modules, which are given "
                              "from Python: vaekit.train(..., networks=vaekit.Networks(encoder, "
                              "decoder))")
        return self

    @classmethod
    def of(cls, networks: Networks) -> "Custom":
        return cls(type(networks.encoder).__name__ if networks.encoder is not None else "",
                   type(networks.decoder).__name__)

    def _ask(self, *_):
        raise VaekitError(f"this run was trained with your own networks ({self.encoder_class}, "
                          f"{self.decoder_class}); pass them again, e.g. "
                          "vaekit.load_model(run, networks=vaekit.Networks(encoder, decoder))")

    encoder = decoder = _ask
