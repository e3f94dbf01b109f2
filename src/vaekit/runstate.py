"""What lets a training run survive faults: its state saved as one checkpoint per epoch and
restored from the newest complete one (`RunState`), and the guard that skips non-finite steps
and calls for a rollback (`Guard`). Used by training.py for VAEs and the baselines alike."""

from __future__ import annotations

import json
import math
import os
import sys

import torch
from tqdm import tqdm

from . import checkpoint, devices, distributed
from .errors import VaekitError


class Diverged(Exception):
    """Training went non-finite beyond what skipping steps can absorb."""


class Guard:
    """Skips optimizer steps whose gradient (and so loss) is not finite, and calls for a
    rollback after `patience` in a row. With DistributedDataParallel the gradients are already
    averaged over processes, so every process takes the same decision.

    With `every` > 1 (on a GPU, which must not wait for the host every step) the decision stays
    on the device: `check` returns a boolean tensor (the optimizer skips the step there, see
    step.py) and counts on the device, and the counts are read every `every` steps. With
    `every` = 1 (on a CPU, where reading costs nothing and a dozen small tensor operations per
    step would cost 2-3% of an MLP's step) it returns a bool and counts on the host, and each
    skipped step is reported with its loss.
    With float16, a step whose gradient overflows is the GradScaler's to skip (it halves the
    scale): only an overflow that `overflow_limit` halvings in a row have not cured (the scale
    is then far below 1, so no scale makes that gradient finite) counts as a non-finite step.
    `log(record, message)` reports skipped steps; `at(epoch, step)` says where training is."""

    def __init__(self, patience: int, log=None, every: int = 1):
        self.patience, self.log, self.every = patience, log, every
        self.skipped = self.scaler_skipped = self.checks = 0
        self.epoch = self.step = self._since = 0
        self._params: dict = {}     # walking a module tree every step costs ~50 us
        self._counts = None         # on the device: faults, overflows, fault streak, worst
        self._overflows = None      # on the device: overflows in a row
        self._loss = None
        self._host = [0, 0]         # on the host (every = 1): faults in a row, overflows in a row

    def at(self, epoch: int, step: int) -> None:
        self.epoch, self.step = epoch, step

    def finite(self, model: torch.nn.Module) -> torch.Tensor:
        """Whether every gradient of `model` is finite: a 0-dim bool tensor on its device."""
        params = self._params.get(id(model))
        if params is None:
            params = self._params[id(model)] = list(model.parameters())
        # a NaN or inf in any gradient makes the sum of all of them non-finite (and so does a
        # sum that overflows, which is a divergence too); half the cost of the gradient norm
        return torch.isfinite(torch.stack([p.grad.sum() for p in params
                                           if p.grad is not None]).sum())

    def check(self, model: torch.nn.Module, loss: torch.Tensor, overflow_limit: int = 0,
              allow: torch.Tensor | None = None) -> torch.Tensor:
        """Record a step's gradient; returns whether the step may be taken (its gradient is
        finite, and `allow`: False for a step that an earlier skipped one of the same batch
        rules out, which then neither counts nor ends a run of skipped steps).
        `overflow_limit`: float16's halvings of the loss scale that may cure an overflow."""
        ok = self.finite(model)
        if self.every == 1:
            return self._on_host(bool(ok), loss, overflow_limit,
                                 True if allow is None else bool(allow))
        bad = ~ok
        if self._counts is None:
            self._counts = torch.zeros(4, dtype=torch.long, device=ok.device)
            self._overflows = torch.zeros((), dtype=torch.long, device=ok.device)
        overflow = torch.zeros_like(bad)
        if overflow_limit:
            self._overflows = (self._overflows + 1) * bad
            overflow = bad & (self._overflows <= overflow_limit)
            bad = bad & ~overflow
        faults, overflows, streak, worst = self._counts.unbind()
        if allow is None:
            streak = (streak + 1) * bad
        else:
            ok, bad = ok & allow, bad & allow
            streak = torch.where(allow, (streak + 1) * bad, streak)
        self._counts = torch.stack([faults + bad, overflows + overflow, streak,
                                    torch.maximum(worst, streak)])
        self._loss, self.checks = loss.detach(), self.checks + 1
        if self.checks % self.every == 0:
            self.flush()
        return ok

    def _on_host(self, ok: bool, loss, overflow_limit: int, allow: bool) -> bool:
        if not allow:
            return False
        streak, overflows = self._host
        overflows = 0 if ok else overflows + 1
        overflow = overflow_limit and not ok and overflows <= overflow_limit
        self.scaler_skipped += bool(overflow)
        bad = not ok and not overflow
        self._host = [streak + 1 if bad else 0, overflows]
        if bad:
            self.skipped += 1
            self._loss = loss.detach()
            if self.log is not None:
                self._report(1)
            if self._host[0] >= self.patience:
                raise Diverged(f"{self._host[0]} non-finite steps in a row")
        return ok

    def flush(self) -> None:
        """Read the counts: report new skipped steps; Diverged after `patience` in a row."""
        if self._counts is None:
            return
        faults, self.scaler_skipped, streak, worst = self._counts.tolist()
        new, self.skipped = faults - self.skipped, faults
        if new and self.log is not None:
            self._report(new)
        self._since = self.step + 1
        self._counts[3] = streak
        if worst >= self.patience:
            raise Diverged(f"{worst} non-finite steps in a row")

    def _report(self, new: int) -> None:
        if self.every == 1:
            loss = self._loss.item()
            self.log({"event": "skipped_step", "epoch": self.epoch + 1, "step": self.step + 1,
                      "loss": loss}, f"step {self.step + 1}: non-finite gradient (loss "
                                     f"{loss:.4g}); step skipped")
        else:
            steps = [self._since + 1, self.step + 1]
            self.log({"event": "skipped_steps", "epoch": self.epoch + 1, "steps": steps,
                      "count": new}, f"steps {steps[0]}..{steps[1]}: {new} with a non-finite "
                                     "gradient skipped")

    def restart(self) -> None:
        """After a rollback: no steps in a row so far."""
        self._host = [0, 0]
        if self._counts is not None:
            self._counts[2:] = 0
            self._overflows.zero_()


def weights_finite(model: torch.nn.Module) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


class RunState:
    """What a training run must keep to survive a crash or a divergence: its position (epoch,
    step), best validation score, RNG states and optimizer (or optimizers by name), saved as one
    checkpoint per epoch, and restored from the newest complete one (on --resume, or to roll
    back)."""

    def __init__(self, run_dir, config, model, optimizer, scheduler, data_rng, local,
                 scaler=None):
        self.run_dir, self.config, self.model = run_dir, config, model
        self.optimizer, self.scheduler, self.data_rng, self.local = (optimizer, scheduler,
                                                                     data_rng, local)
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        self.device = devices.of(model)
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
        cpu, own = distributed.all_rng_states(self.device)     # a collective: every process
        if not self.main:
            return
        tensors = {"data_rng": self.data_rng.get_state(),
                   **{f"rng.{self.device.type}.{r}": state for r, state in enumerate(own)}}
        if self.local is not None:
            tensors["local"] = self.local
        checkpoint.save(checkpoint.epoch_dir(self.run_dir, self.epoch), self.model, self.config,
                        epoch=self.epoch, step=self.step, metrics=record or {},
                        optimizer=self.optimizer, rng_states=cpu, trainer_state={
                            "data_rng_device": self.data_rng.device.type,
                            "best_valid_elbo": self.best, "rollbacks": self.rollbacks,
                            "scheduler": self.scheduler.state_dict() if self.scheduler else None,
                            "scaler": self.scaler.state_dict() if self.scaler else None},
                        trainer_tensors=tensors)
        checkpoint.prune(self.run_dir, self.config.keep_checkpoints)

    def restore(self, ckpt) -> None:
        checkpoint.load_weights(self.model, ckpt.tensors("model.safetensors"), ckpt.path)
        saved = ckpt.load_optimizer(self.optimizer)
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
        self.epoch, self.step = ckpt.meta["epoch"], ckpt.meta["step"]
        self.best, self.rollbacks = state["best_valid_elbo"], state.get("rollbacks", 0)

    def _restore_data_rng(self, state, device_type, ckpt) -> None:
        """The batches' generator continues where it was, when the checkpoint holds its state
        for this kind of device; otherwise (a run of vaekit before 0.3, which drew batches with
        numpy, or a run moved to another kind of device) it starts afresh from a seed."""
        if state is not None and device_type == self.data_rng.device.type:
            self.data_rng.set_state(state)
            return
        self.data_rng.manual_seed(self.config.seed + ckpt.meta["step"])
        if self.main and ckpt.meta["step"]:
            print(f"vaekit: note: {ckpt.path} holds no batch order for a "
                  f"{self.data_rng.device.type} generator; the batches continue from a new seed "
                  "(the run goes on, but not draw for draw as it would have)", file=sys.stderr)

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
        lr = self.scale_lr(factor)
        self.event({"event": "rollback", "reason": why, "to_epoch": self.epoch,
                    "lr": lr, "rollbacks": rollbacks},
                   f"{why}: rolled back to epoch {self.epoch}, learning rate now {lr:.3g}")

    def scale_lr(self, factor: float) -> float:
        """Every optimizer's learning rate (and the schedule's) times `factor`; the new one."""
        optimizers = (list(self.optimizer.values()) if isinstance(self.optimizer, dict)
                      else [self.optimizer])             # a GAN has two, by name
        for optimizer in optimizers:
            for group in optimizer.param_groups:
                group["lr"] *= factor
        if self.scheduler is not None:
            self.scheduler.base_lrs = [lr * factor for lr in self.scheduler.base_lrs]
        return optimizers[0].param_groups[0]["lr"]

    def changed(self, changes: dict) -> None:
        """A resumed run's changed settings {name: (old, new)}: a new learning rate scales the
        one the run has reached (rollback halvings and schedule kept); all go to the log."""
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
