"""What lets a training run survive faults: its state saved as one checkpoint per epoch and
restored from the newest complete one (`RunState`), and the guard that skips non-finite steps
and calls for a rollback (`Guard`). Used by training.py for VAEs and the baselines alike."""

from __future__ import annotations

import json
import math
import os

import torch
from tqdm import tqdm

from . import checkpoint, distributed
from .errors import VaekitError


class Diverged(Exception):
    """Training went non-finite beyond what skipping steps can absorb."""


class Guard:
    """Skips optimizer steps whose gradient (and so loss) is not finite, and calls for a
    rollback after `patience` in a row. With DistributedDataParallel the gradients are already
    averaged over processes, so every process takes the same decision. `log(record, message)`
    reports each skipped step; `at(epoch, step)` says where training is."""

    def __init__(self, patience: int, log=None):
        self.patience, self.log, self.in_a_row, self.skipped = patience, log, 0, 0
        self.epoch = self.step = 0
        self._params: dict = {}     # walking a module tree every step costs ~50 us

    def at(self, epoch: int, step: int) -> None:
        self.epoch, self.step = epoch, step

    def ok(self, model: torch.nn.Module, loss: torch.Tensor) -> bool:
        params = self._params.get(id(model))
        if params is None:
            params = self._params[id(model)] = list(model.parameters())
        # a NaN or inf in any gradient makes the sum of all of them non-finite (and so does a
        # sum that overflows, which is a divergence too); half the cost of the gradient norm
        total = torch.stack([p.grad.sum() for p in params if p.grad is not None])
        if torch.isfinite(total.sum()):
            self.in_a_row = 0
            return True
        self.in_a_row += 1
        self.skipped += 1
        if self.log is not None:
            self.log({"event": "skipped_step", "epoch": self.epoch + 1, "step": self.step + 1,
                      "loss": loss.item()},
                     f"step {self.step + 1}: non-finite gradient (loss {loss.item():.4g}); "
                     "step skipped")
        if self.in_a_row >= self.patience:
            raise Diverged(f"{self.in_a_row} non-finite steps in a row")
        return False


def weights_finite(model: torch.nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


class RunState:
    """What a training run must keep to survive a crash or a divergence: its position (epoch,
    step), best validation score, RNG states and optimizer (or optimizers by name), saved as one
    checkpoint per epoch, and restored from the newest complete one (on --resume, or to roll
    back)."""

    def __init__(self, run_dir, config, model, optimizer, scheduler, data_rng, local):
        self.run_dir, self.config, self.model = run_dir, config, model
        self.optimizer, self.scheduler, self.data_rng, self.local = (optimizer, scheduler,
                                                                     data_rng, local)
        self.epoch, self.step, self.best, self.rollbacks = 0, 0, -math.inf, 0
        self.main = distributed.is_main()

    def start(self, ckpt) -> None:
        """Continue from `ckpt` (its metrics.jsonl trimmed back to it), or, for a new run, save
        epoch 0, so that a crash or rollback in epoch 1 has a place to go."""
        if ckpt is not None:
            self.restore(ckpt)
            self.trim_logs()
        else:
            self.save(None)

    def save(self, record: dict | None) -> None:
        states = distributed.all_rng_states()             # a collective: every process calls
        if not self.main:
            return
        checkpoint.save(checkpoint.epoch_dir(self.run_dir, self.epoch), self.model, self.config,
                        epoch=self.epoch, step=self.step, metrics=record or {},
                        optimizer=self.optimizer, rng_states=states, trainer_state={
                            "data_rng": self.data_rng.bit_generator.state,
                            "best_valid_elbo": self.best, "rollbacks": self.rollbacks,
                            "scheduler": self.scheduler.state_dict() if self.scheduler else None},
                        trainer_tensors={} if self.local is None else {"local": self.local})
        checkpoint.prune(self.run_dir, self.config.keep_checkpoints)

    def restore(self, ckpt) -> None:
        checkpoint.load_weights(self.model, ckpt.tensors("model.safetensors"), ckpt.path)
        saved = ckpt.load_optimizer(self.optimizer)
        if len(ckpt.rng_states) == distributed.world_size():
            torch.set_rng_state(ckpt.rng_states[distributed.rank()])
        elif distributed.rank():
            torch.manual_seed(self.config.seed + 7919 * distributed.rank() + ckpt.meta["step"])
        state = ckpt.meta["trainer"]
        self.data_rng.bit_generator.state = state["data_rng"]
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])   # (none: a run of vaekit 0.1)
        if self.local is not None:
            self.local.copy_(saved["local"])
        self.epoch, self.step = ckpt.meta["epoch"], ckpt.meta["step"]
        self.best, self.rollbacks = state["best_valid_elbo"], state.get("rollbacks", 0)

    def trim_logs(self) -> None:
        """After a crash metrics.jsonl may run past the checkpoint (or end mid-line): keep the
        epochs the checkpoint covers, which training is about to repeat from there on."""
        log = self.run_dir / "metrics.jsonl"
        if not self.main or not log.exists():
            return
        kept = []
        for line in log.read_text().splitlines():
            try:
                if json.loads(line)["epoch"] <= self.epoch:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                pass                            # a line cut short by the crash
        tmp = log.with_name(log.name + ".tmp")
        tmp.write_text("".join(l + "\n" for l in kept))
        os.replace(tmp, log)

    def event(self, record: dict, message: str) -> None:
        if self.main:
            tqdm.write(message)
            with (self.run_dir / "events.jsonl").open("a") as f:
                f.write(json.dumps(record) + "\n")

    def roll_back(self, why: str) -> None:
        """Back to the newest complete checkpoint with half the learning rate; after
        max_rollbacks of them, give up with an error (never go on with non-finite weights)."""
        rollbacks = self.rollbacks + 1
        if rollbacks > self.config.max_rollbacks:
            raise VaekitError(f"training diverged at epoch {self.epoch + 1} ({why}) after "
                              f"{self.rollbacks} rollbacks; lower --lr or check the data")
        distributed.barrier()
        self.restore(checkpoint.latest(self.run_dir))
        factor = 0.5 ** (rollbacks - self.rollbacks)  # the checkpoint's lr has its own halvings
        self.rollbacks = rollbacks
        optimizers = (list(self.optimizer.values()) if isinstance(self.optimizer, dict)
                      else [self.optimizer])             # a GAN has two, by name
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= factor
        if self.scheduler is not None:
            self.scheduler.base_lrs = [lr * factor for lr in self.scheduler.base_lrs]
        lr = optimizers[0].param_groups[0]["lr"]
        self.event({"event": "rollback", "reason": why, "to_epoch": self.epoch,
                    "lr": lr, "rollbacks": rollbacks},
                   f"{why}: rolled back to epoch {self.epoch}, learning rate now {lr:.3g}")

    def end_epoch(self, record: dict, score: float, always_best: bool = False) -> None:
        """Log the epoch, then save best (if it is, by the validation score; or `always_best`)
        before the epoch's checkpoint: a crash between the two repeats the epoch, which
        rewrites the same best."""
        if self.main:
            with (self.run_dir / "metrics.jsonl").open("a") as f:
                f.write(json.dumps(record) + "\n")
        if score > self.best or always_best:
            self.best = score
            if self.main:
                checkpoint.save(self.run_dir / "best", self.model, self.config, epoch=self.epoch,
                                step=self.step, metrics=record)
        self.save(record)
        distributed.barrier()
