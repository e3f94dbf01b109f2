"""Building a model's two networks from its spec, or taking the user's, and checking both on a
small batch, so that a wrong shape is one clear line when the model is built, not a
broadcasting error deep inside a training step."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import VaekitError
from .custom import Networks


def build_networks(spec, event_shape: tuple[int, ...], code_size: int, in_features: int,
                   out_shape: tuple[int, ...], given: Networks | None = None,
                   encoder: bool = True) -> Networks:
    """(encoder or None, decoder) from `spec`, or `given` (the user's modules), checked."""
    if given is None:
        nets = Networks(spec.encoder(event_shape, code_size) if encoder else None,
                        spec.decoder(in_features, out_shape))
    else:
        nets = Networks(*given)
        if encoder and nets.encoder is None:
            raise VaekitError("this model needs an encoder: pass Networks(encoder, decoder)")
        if not encoder and nets.encoder is not None:
            raise VaekitError("this model has no encoder (variational EM): pass "
                              "Networks(None, decoder)")
    if nets.encoder is not None:
        _check(nets.encoder, "encoder", (2, *event_shape), (2, code_size))
    _check(nets.decoder, "decoder", (2, in_features), (2, *out_shape))
    return nets


def _check(module: nn.Module, role: str, in_shape: tuple, out_shape: tuple) -> None:
    """Run `module` on zeros [in_shape] in eval mode and compare its output with `out_shape`."""
    if not isinstance(module, nn.Module):
        raise VaekitError(f"the {role} must be a torch.nn.Module, got {type(module).__name__}")
    param = next(module.parameters(), None)
    x = torch.zeros(in_shape, dtype=param.dtype if param is not None else torch.float32,
                    device=param.device if param is not None else None)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(x)
    except Exception as e:  # a user's module may raise anything; say where it came from
        raise VaekitError(f"the {role} ({type(module).__name__}) fails on a batch of shape "
                          f"{list(in_shape)}: {type(e).__name__}: {str(e).splitlines()[0]}"
                          ) from None
    finally:
        module.train(was_training)
    if not torch.is_tensor(out) or tuple(out.shape) != tuple(out_shape):
        got = list(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise VaekitError(f"the {role} ({type(module).__name__}) maps {list(in_shape)} to "
                          f"{got}; the model needs {list(out_shape)}")
