"""vaekit: variational autoencoders, trained fast and evaluated honestly."""

from . import devices, inference, latents, likelihoods, networks
from .checkpoint import load_model
from .config import DataConfig, ModelConfig, TrainConfig
from .data import load_dataset, prepare
from .errors import VaekitError
from .evaluation import active_units, bits_per_dim, elbo_report, evaluate, log_likelihood
from .kinds import build_model
from .model import VAE
from .networks import Networks
from .objectives import ELBO, elbo, iwae, kl_layers, kl_term, log_weights
from .training import TrainResult, train

__version__ = "0.3.0"
__all__ = ["devices", "inference", "latents", "likelihoods", "networks", "load_model", "DataConfig",
           "ModelConfig", "TrainConfig", "load_dataset", "prepare", "VaekitError",
           "active_units", "bits_per_dim", "elbo_report", "evaluate", "log_likelihood",
           "build_model", "VAE", "Networks", "ELBO", "elbo", "iwae", "kl_layers", "kl_term",
           "log_weights", "TrainResult", "train"]
