"""The NaN guard of training: it skips optimizer steps whose gradient is not finite, and calls
for a rollback (`Diverged`) after too many in a row; the run state (runstate.py) rolls back."""

from __future__ import annotations

import torch


class Diverged(Exception):
    """Training went non-finite beyond what skipping steps can absorb."""


class Guard:
    """Skips optimizer steps whose gradient is not finite, and calls for a rollback after
    `patience` in a row (under DDP the gradients are averaged, so every process agrees).
    With `every` > 1 (a GPU) `check` returns its verdict as a 0-dim bool tensor on the device (a
    Python bool would cost a host synchronisation), and skipped steps are counted there and read
    every `every` steps; with `every` = 1 (`on_host`: a CPU, where a dozen small tensor
    operations would cost 2-3% of an MLP's step) the verdict is a Python bool (one read of the
    flag), each skipped step reported with its loss. With float16, an overflow is the
    GradScaler's to skip unless `overflow_limit` halvings in a row have not cured it."""

    def __init__(self, patience: int, log=None, every: int = 1):
        self.patience, self.log, self.every = patience, log, every
        self.skipped = self.scaler_skipped = self.checks = 0
        self.norm_skipped = 0       # finite steps skipped for a gradient norm above --grad-skip
        self._large = None          # on the device: their count
        self.epoch = self.step = self._since = 0
        self._grads: dict = {}      # walking a module tree every step costs ~50 us
        self._counts = None         # on the device: faults, overflows, fault streak, worst
        self._overflows = None      # on the device: overflows in a row
        self._loss = None
        self._host = [0, 0]         # on the host (every = 1): faults in a row, overflows in a row

    @property
    def on_host(self) -> bool:
        """Whether the verdict is read on the host every step (it costs nothing there)."""
        return self.every == 1

    def at(self, epoch: int, step: int) -> None:
        self.epoch, self.step = epoch, step

    def finite(self, model: torch.nn.Module) -> torch.Tensor:
        """Whether every gradient of `model` is finite: a 0-dim bool tensor on its device."""
        return self._flagged(model)[0] == 0

    def _flagged(self, model: torch.nn.Module) -> torch.Tensor:
        """[1] on the model's device: nonzero where some gradient of `model` is not finite."""
        cached = self._grads.get(id(model))
        if cached is None:
            params = [p for p in model.parameters() if p.requires_grad]
            device = params[0].device if params else None
            cached = self._grads[id(model)] = (params, torch.zeros(1, device=device),
                                               torch.ones(1, device=device))
        params, found, one = cached
        grads = [p.grad for p in params if p.grad is not None]
        found.zero_()
        if not grads:
            return found
        try:        # one fused pass that flags a non-finite value (and multiplies by 1: no change)
            torch._amp_foreach_non_finite_check_and_unscale_(grads, found, one)
        except (RuntimeError, NotImplementedError, AttributeError):   # a device without it
            found.copy_(~torch.isfinite(torch.stack([g.sum() for g in grads]).sum()))
        return found

    def check(self, model: torch.nn.Module, loss: torch.Tensor, overflow_limit: int = 0,
              allow: torch.Tensor | bool | None = None) -> torch.Tensor | bool:
        """Record a step's gradient; returns whether the step may be taken (its gradient is
        finite, and `allow`: False for a step that an earlier skipped one of the same batch
        rules out, which then neither counts nor ends a run of skipped steps)."""
        if self.on_host:        # one read of the flag: a Python bool (no tensor operations)
            finite = not self._flagged(model).item()
            return self._on_host(finite, loss, overflow_limit, allow)
        ok = self.finite(model)
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

    def within(self, ok: torch.Tensor | bool, norm: torch.Tensor, limit: float) -> torch.Tensor:
        """Whether a step that `check` allowed also has a gradient norm <= `limit`; a finite
        step above it is skipped and counted (`norm_skipped`), never rolled back: a rare
        outlier, not a divergence."""
        small = norm <= limit
        large = ok & ~small
        if self.on_host:
            self.norm_skipped += int(large)
        else:
            self._large = large.long() if self._large is None else self._large + large
        return ok & small

    def _on_host(self, finite: bool, loss, overflow_limit: int, allow) -> bool:
        if allow is not None and not allow:
            return False
        streak, overflows = self._host
        overflows = 0 if finite else overflows + 1
        overflow = overflow_limit and not finite and overflows <= overflow_limit
        self.scaler_skipped += bool(overflow)
        bad = not finite and not overflow
        self._host = [streak + 1 if bad else 0, overflows]
        if bad:
            self.skipped += 1
            self._loss = loss.detach()
            if self.log is not None:
                self._report(1)
            if self._host[0] >= self.patience:
                raise Diverged(f"{self._host[0]} non-finite steps in a row")
        return finite

    def flush(self) -> None:
        """Read the counts: report new skipped steps; Diverged after `patience` in a row."""
        if self._large is not None:
            self.norm_skipped = int(self._large)
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
