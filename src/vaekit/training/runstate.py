"""What lets a training run survive faults: its state saved as one checkpoint per epoch and
restored from the newest complete one (`RunState`), on --resume or to roll back after the
guard (guard.py) calls for it. Used by loop.py for VAEs and the baselines alike."""

from __future__ import annotations

import math
import sys

import torch
from tqdm import tqdm

from .. import checkpoint, devices, distributed
from ..errors import VaekitError
from ..runs import Run


class RunState:
    """A run's position (epoch, step), best validation score (higher is better), RNG states and
    optimizers (by name, "" for a kind's only one)."""

    def __init__(self, run_dir, config, model, optimizers: dict, scheduler, data_rng, local,
                 scaler=None, data_fingerprint: str | None = None, average=None):
        self.run, self.config, self.model = Run(run_dir), config, model
        self.data_fingerprint = data_fingerprint     # recorded in every checkpoint
        self.optimizers, self.scheduler, self.data_rng, self.local = (optimizers, scheduler,
                                                                      data_rng, local)
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.average = average          # --ema: training/ema.py
        self.device = devices.of(model)
        self.epoch, self.step, self.best_score, self.rollbacks = 0, 0, -math.inf, 0
        self.main = distributed.is_main()

    def start(self, ckpt) -> None:
        """Continue from `ckpt`, or save epoch 0 so a crash in epoch 1 has a place to go."""
        if ckpt is not None:
            self.restore(ckpt)
            if self.main:
                self.run.trim_metrics(self.epoch)
        else:
            self.save(None)

    def save(self, record: dict | None) -> None:
        cpu, own = distributed.all_rng_states(self.device)     # a collective: every process
        if not self.main:
            return
        tensors = {"data_rng": self.data_rng.get_state(),
                   **{f"rng.{self.device.type}.{r}": state for r, state in enumerate(own)}}
        if self.local is not None:
            tensors["local"] = self.local
        if self.average is not None:    # the weights to go on from, and their average
            tensors.update(self.average.tensors())
        checkpoint.save(self.run.checkpoint(self.epoch), self.model, self.config,
                        epoch=self.epoch, step=self.step, metrics=record or {},
                        optimizers=self.optimizers, rng_states=cpu, trainer_state={
                            "data_rng_device": self.data_rng.device.type,
                            "best_valid_score": self.best_score, "rollbacks": self.rollbacks,
                            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
                            "scaler": self.scaler.state_dict() if self.scaler else None},
                        trainer_tensors=tensors, data_fingerprint=self.data_fingerprint)
        self.run.prune(self.config.keep_checkpoints)

    def restore(self, ckpt) -> None:
        checkpoint.load_weights(self.model, ckpt.tensors("model.safetensors"), ckpt.path)
        saved = ckpt.load_optimizer(self.optimizers)
        rank, same = distributed.rank(), len(ckpt.rng_states) == distributed.world_size()
        if same:
            torch.set_rng_state(ckpt.rng_states[rank])
        own = saved.get(f"rng.{self.device.type}.{rank}")
        if same and own is not None:
            devices.set_rng_state(self.device, own)
        elif self.device.type != "cpu" or not same:
            devices.seed(self.device, self.config.seed + 7919 * rank + ckpt.meta["step"])
        state = ckpt.meta["trainer"]
        self._restore_data_rng(saved.get("data_rng"), state.get("data_rng_device"), ckpt)
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])   # (none: a run of vaekit 0.1)
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if self.local is not None:
            self.local.copy_(saved["local"])
        if self.average is not None:
            self.average.restore(saved)
        self.epoch, self.step = ckpt.meta["epoch"], ckpt.meta["step"]
        self.best_score = state["best_valid_score" if "best_valid_score" in state
                                else "best_valid_elbo"]             # (vaekit 0.3.0 and before)
        self.rollbacks = state.get("rollbacks", 0)

    def _restore_data_rng(self, state, device_type, ckpt) -> None:
        """The batches' generator where it was, when saved for this device type; else seeded."""
        if state is not None and device_type == self.data_rng.device.type:
            self.data_rng.set_state(state)
            return
        self.data_rng.manual_seed(self.config.seed + ckpt.meta["step"])
        if self.main and ckpt.meta["step"]:
            print(f"vaekit: note: {ckpt.path} holds no batch order for a "
                  f"{self.data_rng.device.type} generator; the batches continue from a new seed "
                  "(the run goes on, but not draw for draw as it would have)", file=sys.stderr)

    def event(self, record: dict, message: str) -> None:
        """Log an event of the run (events.jsonl) and say it on stderr, away from output."""
        if self.main:
            tqdm.write(message, file=sys.stderr)
            self.run.log_event(record)

    def roll_back(self, why: str) -> None:
        """Back to the newest checkpoint at half the learning rate; max_rollbacks, then fail."""
        rollbacks = self.rollbacks + 1
        if rollbacks > self.config.max_rollbacks:
            raise VaekitError(f"training diverged at epoch {self.epoch + 1} ({why}) after "
                              f"{self.rollbacks} rollbacks; lower --lr or check the data")
        distributed.barrier()
        self.restore(checkpoint.latest(self.run.path))
        factor = 0.5 ** (rollbacks - self.rollbacks)  # the checkpoint's lr has its own halvings
        self.rollbacks = rollbacks
        lr = self.scale_lr(factor)
        self.event({"event": "rollback", "reason": why, "to_epoch": self.epoch,
                    "lr": lr, "rollbacks": rollbacks},
                   f"{why}: rolled back to epoch {self.epoch}, learning rate now {lr:.3g}")

    def scale_lr(self, factor: float) -> float:
        """Every optimizer's learning rate (and the schedule's) times `factor`; the new one."""
        optimizers = list(self.optimizers.values())
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= factor
        if self.scheduler is not None:
            self.scheduler.base_lrs = [lr * factor for lr in self.scheduler.base_lrs]
        return optimizers[0].param_groups[0]["lr"]

    def changed(self, changes: dict) -> None:
        """Log a resumed run's changes {name: (old, new)}; a new lr scales the one reached."""
        if not changes:
            return
        if "lr" in changes:
            old, new = changes["lr"]
            self.scale_lr(new / old)
        self.event({"event": "resumed_with_changes", "epoch": self.epoch,
                    "changes": {k: list(v) for k, v in changes.items()}},
                   "resumed with " + ", ".join(f"{k} {a} -> {b}" for k, (a, b) in
                                               changes.items()))

    def end_epoch(self, record: dict, score: float, always_best: bool = False) -> None:
        """Log the epoch, then save best (if it is, or `always_best`) before the epoch's checkpoint:
        a crash between the two repeats the epoch, which rewrites the same best."""
        if self.main:
            self.run.append_metrics(record)
        if score > self.best_score or always_best:
            self.best_score = score
            if self.main:
                checkpoint.save(self.run.best, self.model, self.config, epoch=self.epoch,
                                step=self.step, metrics=record,
                                data_fingerprint=self.data_fingerprint)
        self.save(record)
        distributed.barrier()
