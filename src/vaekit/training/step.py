"""A model kind's part of training: its optimizers, one step on a batch, what it logs, how it
is validated each epoch, and what its finished run reports and draws. The loop (loop.py) is the
same for every kind; vae_step.py and baseline_steps.py fill these in."""

from __future__ import annotations

import torch

from .precision import autocast, make_scheduler


class Step:
    always_best = False        # the best checkpoint is the last one (no validation criterion)

    def __init__(self, model, config, n_train: int, n_batches: int, guard, parallel: bool):
        self.model, self.config, self.guard = model, config, guard
        self.precision = autocast(config)
        self.optimizers: dict = {}          # by name; "" for a kind's only optimizer
        self.scheduler = None
        self.local: torch.Tensor | None = None   # per-training-example state, checkpointed

    def schedule(self, optimizer) -> None:
        self.scheduler = make_scheduler(optimizer, self.config)

    def descend(self, loss: torch.Tensor, module: torch.nn.Module, optimizer) -> bool:
        """One optimizer step on `module`, unless the NaN guard finds its gradient non-finite
        (the step is skipped; too many in a row raise runstate.Diverged)."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.guard.ok(module, loss):
            optimizer.step()
            return True
        return False

    def __call__(self, rows, xb: torch.Tensor, step: int):
        """Train on a batch; (sums over its examples of the logged values [V], examples) or
        None when the step was skipped."""
        raise NotImplementedError

    def record(self, means: list[float]) -> dict:
        """The epoch's log entries from the means of the logged values."""
        raise NotImplementedError

    def validate(self, splits) -> tuple[dict, float]:
        """(log entries, score: higher is better) on the validation data."""
        raise NotImplementedError

    @staticmethod
    def summary(record: dict) -> str:
        return f"epoch {record['epoch']:4d}  " + "  ".join(
            f"{k} {v:.4f}" for k, v in record.items()
            if k.startswith(("train_", "valid_")) and isinstance(v, float))

    @staticmethod
    def evaluate(model, splits, config) -> dict:
        """Test metrics of the finished run's best weights."""
        return {"n": len(splits.test)}

    @staticmethod
    def pictures(model, splits) -> dict:
        """{file name: images [N, *event_shape] in [0, 1]} drawn for a finished run."""
        return {"samples.png": model.sample(64)}
