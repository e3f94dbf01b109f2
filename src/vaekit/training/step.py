"""A model kind's part of training: its optimizers, one step on a batch, what it logs, how it
is validated each epoch, and what its finished run reports and draws. The loop (loop.py) is the
same for every kind; vae_step.py and baseline_steps.py fill these in."""

from __future__ import annotations

import math

import torch

from .. import devices, runs
from ..plots import samples
from .ema import WeightAverage
from .precision import autocast, grad_scaler, make_scheduler


class Step:
    always_best = False        # the best checkpoint is the last one (no validation criterion)

    def __init__(self, model, config, n_train: int, n_batches: int, guard, parallel: bool):
        self.model, self.config, self.guard = model, config, guard
        self.device = devices.of(model)
        self.precision = autocast(config, self.device)
        self.scaler = grad_scaler(config, self.device)     # float16 only; else a no-op
        # halvings that can bring the scale from where it starts to far below 1
        self.overflow_limit = (int(math.log2(self.scaler.get_scale())) + 4
                               if self.scaler.is_enabled() else 0)
        self.optimizers: dict = {}          # by name; "" for a kind's only optimizer
        self.scheduler = None
        self.local: torch.Tensor | None = None   # per-training-example state, checkpointed
        self.average = WeightAverage(model, config.ema) if config.ema else None   # --ema

    def schedule(self, optimizer) -> None:
        self.scheduler = make_scheduler(optimizer, self.config)

    def descend(self, loss: torch.Tensor, module: torch.nn.Module, optimizer,
                allow: torch.Tensor | bool | None = None) -> torch.Tensor | bool:
        """One optimizer step on `module`, skipped on the device when the NaN guard finds its
        gradient non-finite (or `allow` is False; float16: by the scaler); whether it was taken."""
        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)
        ok = self.guard.check(module, loss, self.overflow_limit, allow)
        clip, skip = self.config.grad_clip, self.config.grad_skip
        if clip or skip:                    # after the guard: a non-finite norm is its to skip
            norm = torch.nn.utils.clip_grad_norm_(module.parameters(), clip or math.inf)
            if skip:                        # the norm before clipping, as VDVAE's skip reads it
                ok = self.guard.within(ok, norm, skip)
        if self.scaler.is_enabled():        # it skips a step whose gradient overflowed
            if not skip or bool(ok):        # a host read, with float16 and --grad-skip only
                self.scaler.step(optimizer)
            self.scaler.update()
        elif self.guard.on_host:            # a CPU: reading the verdict costs nothing
            if ok:
                optimizer.step()
        elif optimizer.defaults.get("fused"):
            optimizer.found_inf = (~ok).float()     # fused Adam skips the step in its kernel
            try:
                optimizer.step()
            finally:
                del optimizer.found_inf
        elif ok:
            optimizer.step()
        return ok

    def counted(self, ok: torch.Tensor | bool, values: torch.Tensor, n: int):
        """(sums of the logged values [V], examples), zero when skipped, on host or device."""
        if self.guard.on_host:
            return (values.sum(0), n) if ok else (values.new_zeros(values.shape[1:]), 0)
        return torch.where(ok, values.sum(0), 0.0), ok.long() * n

    def __call__(self, rows, xb: torch.Tensor, step: int):
        """Train on a batch: (sums of the logged values [V], examples), zero when skipped."""
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
        """{file name: plots.Picture} drawn for a finished run (and TensorBoard)."""
        return {runs.SAMPLES: samples(model)}
