"""Training: one loop for every model kind (what differs is their step, step.py), validation
every epoch, checkpoints, and after training the test evaluation of the best weights and the
kind's pictures (the run folder: runs.py). Under torchrun, data-parallel (distributed.py).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from .. import allocator, checkpoint, config_file, devices, distributed, kinds
from . import loggers
from .baseline_steps import AutoencoderStep, GANStep
from .vae_step import VAEStep
from ..config import TrainConfig
from ..data import Batches, Splits, load_dataset, prepare, provenance, reduce_bits
from ..denormals import flushed
from ..errors import VaekitError
from ..model import build_model
from ..networks import Custom, Networks
from ..plots import save_picture
from ..runs import BEST_EPOCH, CLASS_NAMES, EPOCH, SECONDS, TEST, Run
from .ema import averaged
from .precision import bfloat16_note
from .guard import Diverged, Guard, weights_finite
from .runstate import RunState

# each model kind's training step (the kinds' facts: kinds.py)
STEPS = {"vae": VAEStep, "ae": AutoencoderStep, "gan": GANStep}
GUARD_EVERY = 50        # steps between the NaN guard's host reads on an accelerator


class Throughput:
    """Examples per second over this call's training steps, and over the last epoch."""

    def __init__(self):
        self.steps, self.examples, self.seconds, self.start = 0, 0, 0.0, None
        self.epoch_examples, self.epoch_seconds = 0, 0.0

    def resume(self):
        self.start = time.perf_counter()
        self.epoch_examples, self.epoch_seconds = self.examples, self.seconds

    def tick(self, n: int):
        self.steps += 1
        self.examples += n

    def pause(self):
        if self.start is not None:
            self.seconds += time.perf_counter() - self.start
            self.start = None

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")

    @property
    def epoch_rate(self) -> float:
        seconds = self.seconds - self.epoch_seconds
        return (self.examples - self.epoch_examples) / seconds if seconds > 0 else float("nan")


@dataclass
class TrainResult:
    run_dir: Path
    config: TrainConfig
    model: torch.nn.Module
    splits: Splits
    history: list = field(default_factory=list)
    test: dict = field(default_factory=dict)
    examples_per_s: float = float("nan")     # over the training steps this call ran
    steps_run: int = 0


def _setup(config, run_dir, resume, epochs, splits, networks, device):
    """(config resolved for the data, checkpoint or None, splits, the resumed changes)."""
    ckpt = checkpoint.latest(run_dir) if resume else None
    config = copy.deepcopy(config if config is not None else ckpt.config).validate()
    if epochs is not None:
        config.epochs = epochs
    if device is not None:
        config.device = str(device)
    if networks is not None:
        config.model.network = Custom.of(Networks(*networks))
    if not ckpt:                        # its commands find the data from any folder
        config.data.dataset = provenance.absolute(config.data.dataset)
        config.model.refuse_retired()
    data = ckpt.config.data if ckpt else config.data
    dataset = splits.dataset if splits else load_dataset(data.dataset, data.image_size,
                                                         data.background)
    dataset = reduce_bits(dataset, data.bits)
    config.model = config.model.resolved(dataset.event_shape, dataset.levels, dataset.train)
    changes = ckpt.config.changes_on_resume(config, run_dir) if ckpt else {}
    reached = ckpt.meta["epoch"] if ckpt else 0
    if config.epochs < reached:
        raise VaekitError(f"{run_dir} has trained {reached} epochs; --epochs {config.epochs} "
                          f"would not train; give --epochs {reached + 1} or more to continue")
    kind = kinds.KINDS[config.model.kind]
    splits = splits or prepare(config.data, kind.data(config.model), dataset)
    if ckpt and distributed.will_be_main():
        provenance.check(ckpt.data_fingerprint, splits.dataset, data.dataset,
                         after="training goes on with the data as they are now")
    if distributed.requested() and not (kind.distributed and config.model.inference.distributed
                                        and not config.data.labels):
        raise VaekitError("distributed training is available for VAEs with amortized inference "
                          "(and no --labels)")
    return config.validate(), ckpt, splits, changes


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False,
          epochs: int | None = None, progress: bool | None = None,
          splits: Splits | None = None, final_eval: bool = True,
          networks: Networks | tuple | None = None,
          device: str | torch.device | None = None) -> TrainResult:
    """Train (or `resume` from its newest complete checkpoint) the run in `run_dir`; returns the
    best model. `networks`: your own modules (networks/custom.py), again on resume. `device`
    overrides config.device. On resume, `config` (None: the run's own) may change what
    TrainConfig.changes_on_resume allows."""
    run_dir = Path(run_dir)
    args = config, run_dir, resume, epochs, progress, splits, final_eval, networks, device
    if not distributed.will_be_main():          # process 0 alone holds the run folder
        return _train(*args)
    with Run(run_dir).hold(resume):   # before anything is read
        return _train(*args)


def _train(config, run_dir, resume, epochs, progress, splits, final_eval, networks, device):
    config, ckpt, splits, changes = _setup(config, run_dir, resume, epochs, splits, networks,
                                           device)
    device = devices.resolve(config.device)
    parallel = distributed.init(device)
    note = bfloat16_note(config, device)     # once a run, and on a resume onto another device
    if note and distributed.is_main() and (not ckpt or "device" in changes):
        print(note, file=sys.stderr)
    if config.threads:
        torch.set_num_threads(config.threads)
    if not resume and distributed.is_main() and Run(run_dir).exists():
        raise VaekitError(f"{run_dir} already holds a run; use --resume to continue it or "
                          "choose another --name")
    model, batches, step = _build(config, splits, networks, device, parallel)
    distributed.barrier()                       # process 0 has made the folder (Run.hold)
    run = RunState(run_dir, config, model, step.optimizers, step.scheduler, batches.generator,
                   step.local, step.scaler, splits.dataset.fingerprint, step.average)
    step.guard.log = run.event
    run.start(ckpt)
    run.changed(changes)
    if distributed.is_main():
        config_file.write(config, Run(run_dir).config_file)
    distributed.barrier()
    show = distributed.is_main() and (progress is None or progress)
    timer = Throughput()
    log = loggers.make(config, run_dir) if distributed.is_main() else loggers.Logger()
    allocator.keep_freed_memory()        # no page faults for each step's tensors
    with flushed(), log:                 # subnormal floats are slow on CPUs
        history = _fit(run, step, batches, splits, timer, show, ckpt, log)
    if step.average is not None:         # the model returned is the average, as saved
        step.average.apply()
    model.to(memory_format=torch.contiguous_format)      # as saved (devices.prefer_layouts)
    rate = timer.rate * distributed.world_size()
    result = TrainResult(run_dir, config, model, splits, history, examples_per_s=rate,
                         steps_run=timer.steps)
    if final_eval:
        result.model, _ = checkpoint.load_model(run_dir, networks=networks, device=device)
        result.test = finish(step, result)
    return result


def _build(config, splits, networks, device, parallel):
    """The model on its device, the training batches drawn there and the kind's step."""
    devices.seed(device, config.seed)
    model = build_model(config.model, splits.event_shape, networks).to(device)
    if not parallel:                    # (DDP's gradient buckets keep the default layout)
        devices.prefer_layouts(model, device)
    if config.compile:
        for network in model.networks():
            network.compile()
    if distributed.rank():              # each process its own noise
        devices.seed(device, config.seed + 7919 * distributed.rank())
    generator = torch.Generator(device).manual_seed(config.seed)
    batches = Batches(splits.train, config.batch_size, splits.preprocess, splits.levels,
                      generator, shard=distributed.rows(config.batch_size))
    guard = Guard(config.nan_patience, every=1 if device.type == "cpu" else GUARD_EVERY)
    step = STEPS[config.model.kind](model, config, len(splits.train), len(batches), guard,
                                    parallel)
    if splits.labelled is not None:
        step.supervise(splits.labelled, splits.labelled_y, batches)
    return model, batches, step


def _epoch(run, step, bar, timer) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass over the training data: (sums of the logged values [V], examples)."""
    sums, n = None, 0
    dtype = torch.float32 if step.device.type == "mps" else torch.float64   # MPS: no float64
    for rows, xb in bar:
        step.guard.at(run.epoch, run.step)
        values, counted = step(rows, xb, run.step)
        sums = values.to(dtype, copy=True) if sums is None else sums.add_(values)
        n = n + counted
        run.step += 1
        timer.tick(len(xb))
        if run.step % 25 == 0 and bar.disable is False:
            bar.set_postfix(value=f"{float(sums[0]) / max(int(n), 1):.2f}", refresh=False)
    step.guard.flush()
    if not weights_finite(step.model):
        raise Diverged("non-finite weights at the end of the epoch")
    sums = torch.as_tensor(0.0 if sums is None else sums, dtype=torch.float64)
    return sums.reshape(-1).cpu(), torch.as_tensor(n, dtype=torch.float64).reshape(1).cpu()


def _fit(run, step, batches, splits, timer, show, ckpt, log) -> list[dict]:
    """Epochs until config.epochs: train, validate, log, checkpoint; roll back on divergence."""
    config, history = run.config, []
    while run.epoch < config.epochs:
        epoch, t0 = run.epoch, time.perf_counter()
        skipped, scaler_skipped = step.guard.skipped, step.guard.scaler_skipped
        norm_skipped = step.guard.norm_skipped
        step.model.train()
        bar = tqdm(batches.with_rows(), total=len(batches), leave=False, dynamic_ncols=True,
                   desc=f"epoch {epoch + 1}/{config.epochs}", disable=None if show else True)
        timer.resume()
        try:
            sums, n = _epoch(run, step, bar, timer)
        except Diverged as why:
            run.roll_back(str(why))
            step.guard.restart()
            continue
        finally:
            timer.pause()
            bar.close()
        if step.scheduler is not None:
            step.scheduler.step()
        totals = distributed.sum_all(torch.cat([sums, n]))
        step.model.eval()
        record = {EPOCH: epoch + 1, "step": run.step,
                  "lr": next(iter(step.optimizers.values())).param_groups[0]["lr"],
                  **step.record((totals[:-1] / max(totals[-1].item(), 1.0)).tolist())}
        with averaged(step.average):     # --ema: validated and checkpointed with the average
            valid, score = step.validate(splits)
        record.update(valid)
        record.update({SECONDS: round(time.perf_counter() - t0, 3), "examples_per_s":
                       round(timer.epoch_rate * distributed.world_size(), 1)})
        if step.guard.skipped > skipped:
            record["skipped_steps"] = step.guard.skipped - skipped
        if config.grad_skip:                # logged every epoch, 0 included, when it is on
            record["norm_skipped_steps"] = step.guard.norm_skipped - norm_skipped
        if step.guard.scaler_skipped > scaler_skipped:
            record["scaler_skipped_steps"] = step.guard.scaler_skipped - scaler_skipped
        history.append(record)
        run.epoch += 1
        with averaged(step.average):    # TensorBoard's pictures too
            log.epoch(record, step, splits)
            run.end_epoch(record, score, always_best=step.always_best)
        every = max(1, config.epochs // 20)
        if show and ((epoch + 1) % every == 0 or epoch + 1 in (1, config.epochs)
                     or (ckpt is not None and epoch == ckpt.meta["epoch"])):
            tqdm.write(step.summary(record))
    return history


def finish(step, result: TrainResult) -> dict:
    """Test evaluation of the best weights, metrics.json and the kind's pictures."""
    model, config, splits, run_dir = result.model, result.config, result.splits, result.run_dir
    test = step.evaluate(model, splits, config)
    if not distributed.is_main():
        return test
    rate, run = result.examples_per_s, Run(run_dir)
    summary = {"dataset": splits.dataset.name, "model_type": config.model.kind,
               BEST_EPOCH: checkpoint.read(run.best).meta["epoch"],
               "train_examples_per_s": rate if math.isfinite(rate) else None,
               "train_seconds": round(sum(r[SECONDS] for r in result.history), 3),
               TEST: test}
    if splits.dataset.class_names:      # the report and pictures name the labels by them
        summary[CLASS_NAMES] = list(splits.dataset.class_names)
    run.write_summary(summary)
    if splits.dataset.is_image:
        torch.manual_seed(config.seed)
        for name, picture in step.pictures(model, splits).items():
            save_picture(picture, run.file(name))
    return test
