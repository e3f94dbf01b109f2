"""An exponential moving average of the weights (`--ema DECAY`), for evaluation.

After the n-th training step the average moves toward the weights, a <- a + (1 - d_n) (w - a),
with d_n = min(d, (1 + n) / (10 + n)) (TensorFlow's ExponentialMovingAverage with num_updates;
torch.optim.swa_utils' update):
early on the average follows the weights closely, so that the random initial weights do not
linger in it (with d = 0.999 from the first step they would still be 59% of it after 525
steps). Deep hierarchies (VDVAE: d = 0.9999) and diffusion models
evaluate and sample with it: Adam's last iterate wanders around the optimum by about its step
size, and the average sits nearer to it. Validation, the best checkpoint, every checkpoint's
model.safetensors (so `evaluate`, `sample`, ... read the average) and the model `train`
returns are the average; training goes on from the weights themselves, which each checkpoint
keeps beside the optimizer's state for an exact resume.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch.optim.swa_utils import get_ema_multi_avg_fn

SHADOW, WEIGHTS = "ema.average.", "ema.weights."      # their keys in the trainer's tensors
UPDATES = "ema.updates"


class WeightAverage:
    """The average of `model`'s floating parameters with decay `decay` per update."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.params = {n: p for n, p in model.named_parameters() if p.is_floating_point()}
        self.average = {n: p.detach().clone() for n, p in self.params.items()}
        self.decay, self.updates = decay, 0
        self._held: dict | None = None          # the weights, while the average stands in
        names = list(self.params)      # the update's lists, built once: the Parameters
        self._lists = ([self.average[n] for n in names], [self.params[n] for n in names])

    def current_decay(self) -> float:
        """d_n for the next update: min(d, (1 + n) / (10 + n)) after n updates."""
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self) -> None:
        get_ema_multi_avg_fn(self.current_decay())(*self._lists, None)
        self.updates += 1

    @contextmanager
    def applied(self):
        """The model holds the average inside, its own weights again after."""
        with torch.no_grad():
            self._held = {n: p.detach().clone() for n, p in self.params.items()}
            for n, p in self.params.items():
                p.copy_(self.average[n])
        try:
            yield
        finally:
            with torch.no_grad():
                for n, p in self.params.items():
                    p.copy_(self._held[n])
            self._held = None

    @torch.no_grad()
    def apply(self) -> None:
        """The model holds the average from now on (the end of training)."""
        for n, p in self.params.items():
            p.copy_(self.average[n])

    def tensors(self) -> dict:
        """For the checkpoint: the average and the weights (which the model holds outside
        `applied`)."""
        weights = self._held if self._held is not None else \
            {n: p.detach() for n, p in self.params.items()}
        return {**{SHADOW + n: a for n, a in self.average.items()},
                **{WEIGHTS + n: w for n, w in weights.items()},
                UPDATES: torch.tensor(self.updates, dtype=torch.int64)}

    @torch.no_grad()
    def restore(self, tensors: dict) -> None:
        """From a checkpoint's tensors: the average, and the weights back into the model."""
        for n, p in self.params.items():
            self.average[n].copy_(tensors[SHADOW + n])
            p.copy_(tensors[WEIGHTS + n])
        self.updates = int(tensors[UPDATES])


@contextmanager
def averaged(average: WeightAverage | None):
    """`average.applied()`, or nothing without one."""
    if average is None:
        yield
    else:
        with average.applied():
            yield
