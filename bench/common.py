"""What the benchmarks share: train a configuration through vaekit.train, then evaluate it the
same way every time (test NLL with K=1000 on the first 1000 fixed-binarized test images, the
test ELBO with its terms on all test images, active units per layer)."""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import tempfile
import time

import torch
from safetensors.torch import load_file, save_file

import vaekit
from vaekit.evaluation import active_per_layer, active_units, elbo_report, log_likelihood


def fashion_config(model: vaekit.ModelConfig, epochs: int, threads: int, seed: int,
                   objective: str = "elbo", k: int = 1,
                   warmup_epochs: float = 0.0, batch_size: int = 128,
                   precision: str = "float32") -> vaekit.TrainConfig:
    """Dynamic binarization, batch 128 unless told, Adam 1e-3, all 60,000 training images."""
    return vaekit.TrainConfig(
        model=model, data=vaekit.DataConfig("fashion-mnist", valid_fraction=0.0, seed=seed),
        objective=objective, k=k, epochs=epochs, batch_size=batch_size, lr=1e-3, seed=seed,
        threads=threads, warmup_epochs=warmup_epochs, precision=precision)


def train_for(config: vaekit.TrainConfig, run_dir: str, seconds: float | None,
              deadline=None):
    """(result, its guard's counts and speeds): config.epochs epochs, or with `seconds` whole
    epochs while the next one is expected to end within that wall time (each epoch one resumed
    call, so the time counts the calls' own setup too: against the model that has the budget).
    `deadline()`: the budget in seconds once it is known (another run's, beside this one), None
    before: epochs go on until one ends past it, and the model is the last epoch's that ended
    within it (one checkpoint back). train_examples_per_s: over the training steps;
    wall_examples_per_s: over the whole time."""
    start = time.perf_counter()
    if seconds is None and deadline is None:
        result = vaekit.train(config, run_dir, progress=False, final_eval=False)
        epoch, step_seconds = config.epochs, config.epochs * len(result.splits.train) / \
            result.examples_per_s
        elapsed = time.perf_counter() - start
    else:
        if config.lr_schedule != "constant":
            raise SystemExit("a wall-time budget trains epoch by epoch: a schedule over "
                             "--epochs would restart each call; use --lr-schedule constant")
        epoch, result, steps, ends = 0, None, [], []
        while epoch < config.epochs:
            t0 = time.perf_counter()
            result = vaekit.train(config if result is None else None, run_dir,
                                  resume=epoch > 0, epochs=epoch + 1, progress=False,
                                  final_eval=False, splits=result.splits if result else None)
            epoch, last = epoch + 1, time.perf_counter() - t0
            steps.append(len(result.splits.train) / result.examples_per_s)
            ends.append(time.perf_counter() - start)
            budget = seconds if deadline is None else deadline()
            if budget is not None and ends[-1] + (last if deadline is None else 0) > budget:
                break
        if deadline is not None and budget is not None and ends[-1] > budget and epoch > 1:
            epoch = back_to(result, run_dir, max([1] + [e + 1 for e, end in enumerate(ends)
                                                        if end <= budget]))
        seconds, elapsed, step_seconds = budget, ends[epoch - 1], sum(steps[:epoch])
    examples = epoch * len(result.splits.train)
    keep_weights(result, run_dir)
    return result, guard_counts(run_dir, epoch) | {
        "train_examples_per_s": round(examples / step_seconds),
        "wall_examples_per_s": round(examples / elapsed),
        **({} if seconds is None else {"seconds_budget": round(seconds, 1),
                                       "seconds_used": round(elapsed, 1)})}


def announce(done: str | None, seconds: float | None) -> None:
    """Write {"train_seconds": seconds} to `done` (atomically), for a run beside this one;
    None: remove what an earlier run left there (at the start)."""
    if done and seconds is None:
        if os.path.exists(done):
            os.remove(done)
    elif done:
        with open(done + ".tmp", "w") as f:
            json.dump({"train_seconds": seconds}, f)
        os.replace(done + ".tmp", done)


def deadline(path: str | None):
    """None, or the budget that the run beside this one `announce`s at `path` (None before)."""
    if path is None:
        return None
    since = time.time()

    def budget() -> float | None:      # a file older than this run is an earlier run's
        if not os.path.exists(path) or os.path.getmtime(path) < since:
            return None
        return json.loads(open(path).read())["train_seconds"]
    return budget


def back_to(result, run_dir: str, epoch: int) -> int:
    """The run as it was after `epoch`: newer checkpoints deleted, `result.model` its weights
    (the --ema average where there is one)."""
    from vaekit.runs import Run
    kept = Run(run_dir).checkpoints()
    if not any(int(path.name.split("-")[-1]) == epoch for path in kept):
        raise SystemExit(f"epoch {epoch}'s checkpoint is no longer kept: raise keep_checkpoints")
    for path in kept:
        if int(path.name.split("-")[-1]) > epoch:
            shutil.rmtree(path)
    model, _ = vaekit.load_model(Run(run_dir).checkpoints()[0])
    result.model = model
    return epoch


def keep_weights(result, run_dir: str) -> None:
    """With --ema the model returned is the average; `result.weights`: the weights themselves
    (the newest checkpoint keeps them for the resume), to compare the two; else None."""
    result.weights = None
    if result.config.ema:
        from vaekit import checkpoint
        from vaekit.runs import Run
        from vaekit.training.ema import WEIGHTS
        saved = checkpoint.read(Run(run_dir).checkpoints()[0]).tensors("optimizer.safetensors")
        prefix = "trainer." + WEIGHTS
        result.weights = {k[len(prefix):]: v for k, v in saved.items() if k.startswith(prefix)}


def weights_of(result):
    """A copy of the returned model holding the weights themselves (not their --ema average),
    or None without an average (keep_weights)."""
    if result.weights is None:
        return None
    raw = copy.deepcopy(result.model)
    loaded = raw.load_state_dict(result.weights, strict=False)    # buffers aside
    assert not loaded.unexpected_keys and set(loaded.missing_keys) <= set(
        dict(raw.named_buffers())), loaded
    return raw.eval()


def guard_counts(run_dir: str, epochs: int | None = None) -> dict:
    """The run's epochs (its first `epochs`), updates skipped for their gradient norm
    (--grad-skip) and the NaN guard's events (skipped non-finite steps, rollbacks), from its
    logs."""
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    records = [r for r in records if epochs is None or r.get("epoch", 0) <= epochs]
    events_path = os.path.join(run_dir, "events.jsonl")
    events = [json.loads(line) for line in open(events_path)] if os.path.exists(events_path) \
        else []
    faults = [e for e in events if ("skipped" in e.get("event", "") or "roll" in e.get("event", ""))
              and (epochs is None or e.get("epoch", e.get("to_epoch", 0) + 1) <= epochs)]
    return {"epochs_trained": len(records),
            "norm_skipped_steps": sum(r.get("norm_skipped_steps", 0) for r in records),
            "guard_events": len(faults)}


def train_and_evaluate(name: str, config: vaekit.TrainConfig, nll_n: int = 1000,
                       nll_k: int = 1000, extra=None, seconds: float | None = None,
                       deadline=None, done: str | None = None) -> dict:
    """The figures of one trained configuration; `extra(model, test)` adds its own; `seconds`
    or `deadline`: train for that wall time (whole epochs, at most config.epochs) instead
    (train_for); `done`: a file to write {"train_seconds": ...} to once training ends, before
    the evaluation (another run's deadline)."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        result, counts = train_for(config, run_dir, seconds, deadline)
    seconds = counts.get("seconds_used", time.perf_counter() - start)
    announce(done, seconds)
    model, test = result.model.eval(), result.splits.test
    raw = weights_of(result)
    if raw is not None:                  # --ema: the weights' own NLL too, to pair with
        torch.manual_seed(config.seed)
        keep(name + "-weights", log_likelihood(raw, test[:nll_n], k=nll_k).per_example)
    torch.manual_seed(config.seed)
    ll = log_likelihood(model, test[:nll_n], k=nll_k)
    report = elbo_report(model, test)
    _, variance = active_units(model, test)
    dims = model.latent.dims
    out = {"model": name, "objective": config.objective, "k": config.k,
           "epochs": counts["epochs_trained"],
           "warmup_epochs": config.warmup_epochs,
           "batch_size": config.batch_size, "precision": config.precision,
           "test_nll": round(-ll.mean, 3), "test_nll_se": round(ll.se, 3),
           "test_nll_mc_se": round(ll.mean_mc_se, 4), "test_nll_k": nll_k, "test_nll_n": nll_n,
           "test_elbo": round(report.elbo, 3), "test_rec_log_lik": round(report.rec_log_lik, 3),
           "test_kl_layers": [round(v, 3) for v in report.kl_layers],
           "active_units_layers": active_per_layer(model, variance),
           "latent_dims": list(dims), "train_seconds": round(seconds, 1), **counts}
    if hasattr(model.latent, "tau"):
        out["final_tau"] = round(model.latent.tau.item(), 4)
    keep(name, ll.per_example)
    return out | (extra(model, test) if extra else {})


# name -> the per-image log p(x) estimates behind each "test_nll", for paired comparisons
PER_IMAGE_LOG_P: dict = {}
# --per-image DIR: models trained in other processes (same seed and settings) leave their
# per-image estimates there as NAME.safetensors, so that a comparison can be split across
# processes running side by side
SHARED: dict = {"dir": None}


def keep(name: str, log_p: torch.Tensor) -> None:
    """`name`'s per-image log p(x), here and in --per-image DIR."""
    PER_IMAGE_LOG_P[name] = log_p
    if SHARED["dir"]:
        save_file({"log_p": log_p.contiguous()},
                  os.path.join(SHARED["dir"], f"{name}.safetensors"))


def per_image(name: str):
    """The per-image log p(x) of `name`: trained here, or left in --per-image DIR; else None."""
    path = os.path.join(SHARED["dir"] or "", f"{name}.safetensors")
    if name not in PER_IMAGE_LOG_P and SHARED["dir"] and os.path.exists(path):
        PER_IMAGE_LOG_P[name] = load_file(path)["log_p"]
    return PER_IMAGE_LOG_P.get(name)


def paired_difference(a: str, b: str) -> dict:
    """NLL(a) - NLL(b) over the same test images, with the standard error of the paired
    differences (much smaller than either NLL's own standard error over images)."""
    if len(per_image(a)) != len(per_image(b)):
        raise SystemExit(f"{a} and {b} were scored on {len(per_image(a))} and "
                         f"{len(per_image(b))} test images: not a pair")
    d = per_image(b) - per_image(a)
    return {"nll_difference": round(d.mean().item(), 3),
            "difference_se": round(d.std().item() / len(d) ** 0.5, 3)}


def parse_args(description: str, models, extra=None) -> argparse.Namespace:
    """The options every model-comparison benchmark takes; `extra(parser)` adds its own."""
    p = argparse.ArgumentParser(description=description)
    if extra is not None:
        extra(p)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", default=",".join(models), help="comma-separated subset")
    p.add_argument("--per-image", metavar="DIR",
                   help="keep each model's per-image log p(x) in DIR and pair with those already "
                        "there (split one comparison across processes)")
    args = p.parse_args()
    if args.per_image:
        os.makedirs(args.per_image, exist_ok=True)
        SHARED["dir"] = args.per_image
    return args
