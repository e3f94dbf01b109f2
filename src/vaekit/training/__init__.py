"""Training (loop.py: one loop for every model kind; step.py and its kinds' steps;
precision.py: autocast and the optimizer; guard.py: the NaN guard; runstate.py: checkpoints,
resume and rollback)."""

from .loop import Throughput, TrainResult, train
from .precision import autocast, make_optimizer, make_scheduler
from .vae_step import LossModule, loss_and_terms, loss_fn

__all__ = ["Throughput", "TrainResult", "train", "autocast", "make_optimizer",
           "make_scheduler", "LossModule", "loss_and_terms", "loss_fn"]
