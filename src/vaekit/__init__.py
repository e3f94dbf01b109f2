"""vaekit: variational autoencoders, trained fast and evaluated honestly.

The names below load their modules on first use (PEP 562), so that `import vaekit.config`
validates a configuration without importing training, evaluation or the models.
"""

from importlib import import_module

__version__ = "0.3.0"

# name -> the module that defines it
_HOMES = {
    "load_model": "checkpoint", "DataConfig": "config", "ModelConfig": "config",
    "TrainConfig": "config", "load_dataset": "data", "prepare": "data",
    "VaekitError": "errors", "active_units": "evaluation", "bits_per_dim": "evaluation",
    "elbo_report": "evaluation", "evaluate": "evaluation", "log_likelihood": "evaluation",
    "VAE": "model", "build_model": "model", "Networks": "networks", "ELBO": "objectives",
    "elbo": "objectives", "iwae": "objectives", "miwae": "objectives", "ciwae": "objectives",
    "piwae": "objectives", "kl_layers": "objectives",
    "kl_term": "objectives", "log_weights": "objectives", "TrainResult": "training",
    "train": "training"}
_PACKAGES = ("devices", "inference", "latents", "likelihoods", "networks", "priors")

__all__ = [*_PACKAGES, *_HOMES]


def __getattr__(name: str):
    if name in _PACKAGES:
        return import_module(f".{name}", __name__)
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'vaekit' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
