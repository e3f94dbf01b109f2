"""vaekit: variational autoencoders, trained fast and evaluated honestly."""

from .checkpoint import load_model
from .config import DataConfig, ModelConfig, TrainConfig
from .data import load_dataset, prepare
from .errors import VaekitError
from .evaluation import active_units, bits_per_dim, elbo_report, evaluate, log_likelihood
from .model import VAE
from .objectives import ELBO, elbo, iwae, kl_layers, kl_term, log_weights
from .training import TrainResult, train

__version__ = "0.1.0"
__all__ = ["load_model", "DataConfig", "ModelConfig", "TrainConfig", "load_dataset", "prepare",
           "VaekitError", "active_units", "bits_per_dim", "elbo_report", "evaluate",
           "log_likelihood", "VAE", "ELBO", "elbo", "iwae", "kl_layers", "kl_term", "log_weights",
           "TrainResult", "train"]
