"""Training: Adam on the negative ELBO or IWAE bound, validation every epoch, checkpoints.

A run folder holds `checkpoints/epoch-NNNNNN/` (resumable: weights, optimizer, RNG states; the
newest few), `best/` (weights with the best validation ELBO), `metrics.jsonl` (one line per
epoch), `events.jsonl` (skipped steps and rollbacks, if any; see runstate.py), and after
training `metrics.json` (test evaluation of the best weights), `samples.png` and
`reconstructions.png`. Under torchrun, data-parallel (distributed.py).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import checkpoint, distributed
from .runstate import Diverged, Guard, RunState, weights_finite
from .config import TrainConfig
from .data import Batches, Splits, prepare
from .errors import VaekitError
from .evaluation import elbo_report, evaluate
from .inference import refine
from .model import VAE
from .objectives import elbo, iwae
from .plots import interleave_rows, save_grid


class Throughput:
    """Examples per second over the training steps only, after `warmup` steps."""

    def __init__(self, warmup: int = 20):
        self.warmup, self.steps, self.examples, self.seconds, self.start = warmup, 0, 0, 0.0, None

    def resume(self):
        if self.steps >= self.warmup:
            self.start = time.perf_counter()

    def tick(self, n: int):
        self.steps += 1
        if self.steps == self.warmup:
            self.start = time.perf_counter()
        elif self.steps > self.warmup:
            self.examples += n

    def pause(self):
        if self.start is not None:
            self.seconds += time.perf_counter() - self.start
            self.start = None

    @property
    def rate(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else float("nan")


def make_optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    try:  # one fused kernel per step where this torch build has it
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(model.parameters(), lr=lr, foreach=True)


def autocast(config: TrainConfig):
    """The training step's precision. "bfloat16": matrix products (and the elementwise work
    between them) in bfloat16 under torch.autocast, with float32 weights, gradients, optimizer
    state and network outputs (networks.MLP), and evaluation always in float32. On CPUs with
    AVX512-BF16 the matrix products run about 1.6x faster, a whole step 1.1-1.3x after the
    casts (bench/paired_step.py)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.precision == "bfloat16")


def make_scheduler(optimizer, config: TrainConfig):
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs, config.min_lr)
    if config.lr_schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, config.lr_decay)
    return None


def _bound(model: VAE, x: torch.Tensor, params: torch.Tensor, config: TrainConfig, beta: float):
    """(negative bound at q = latent.posterior(params), per-example values for logging)."""
    q, prior = model.latent.posterior(params), model.prior()
    if config.objective == "iwae":
        bound = iwae(x, q, prior, model.observation, config.k, beta)
        return -bound.mean(), bound.detach().unsqueeze(1)
    terms = elbo(x, q, prior, model.observation)
    loss = -(terms.log_lik - beta * terms.kl).mean()
    return loss, torch.cat([terms.log_lik.unsqueeze(1), terms.kl_layers], 1).detach()


def loss_fn(model: VAE, x: torch.Tensor, config: TrainConfig, beta: float,
            init: torch.Tensor | None = None):
    """(loss to minimise, per-example values for logging: [B, 1 + L] (log p(x|z), then the KL of
    each layer; the ELBO and total KL follow from them) or [B, 1] (the IWAE bound)), and for
    variational EM the E-step's q parameters (else None).

    - amortized: one bound, for encoder and decoder together;
    - semi (Kim et al. 2018): the decoder maximises the bound at the refined q; the encoder
      maximises the bound at its own output (the refinement is not differentiated through);
    - vem: E-step (q's parameters optimized from `init`, the example's last value), then the
      bound at that q is the M-step's loss for theta.
    """
    scheme = model.config.inference
    if scheme == "amortized":
        return (*_bound(model, x, model.encoder(x), config, beta), None)
    if scheme == "vem":
        params = model.posterior_params(x, init)
        return (*_bound(model, x, params, config, beta), params)
    start = model.encoder(x)
    refined = refine(model, x, start, config.model.refine_steps, config.model.local_lr)
    loss, values = _bound(model, x, refined, config, beta)
    encoder_loss, _ = _bound(model, x, start, config, beta)
    # the encoder's gradient alone, by the chain rule through its output, so that the
    # decoder's parameters are trained on the refined bound only
    grad, = torch.autograd.grad(encoder_loss, start)
    return loss + (start * grad).sum(), values, None


class LossModule(torch.nn.Module):
    """loss_fn as a module's forward, so that DistributedDataParallel can wrap it."""

    def __init__(self, model: VAE, config: TrainConfig):
        super().__init__()
        self.model, self.config = model, config

    def forward(self, x, beta, init=None):
        return loss_fn(self.model, x, self.config, beta, init)


@dataclass
class TrainResult:
    run_dir: Path
    config: TrainConfig
    model: VAE
    splits: Splits
    history: list = field(default_factory=list)
    test: dict = field(default_factory=dict)
    examples_per_s: float = float("nan")


def _new_run(run_dir: Path) -> None:
    if checkpoint.candidates(run_dir) or (run_dir / "metrics.jsonl").exists() \
            or (run_dir / "best").exists():
        raise VaekitError(f"{run_dir} already holds a run; use --resume to continue it or "
                          "choose another --name")
    run_dir.mkdir(parents=True, exist_ok=True)


def fit_data_shape(config: TrainConfig, splits: Splits) -> None:
    """The model's input size and picture shape follow the data."""
    config.model.x_dim = splits.dataset.x_dim
    config.model.image_shape = splits.dataset.image_shape
    config.validate()


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False,
          epochs: int | None = None, progress: bool | None = None,
          splits: Splits | None = None, final_eval: bool = True) -> TrainResult:
    """Train (or with `resume`, continue from its newest complete checkpoint) the run in
    `run_dir`; returns the best model. Under torchrun, data-parallel (distributed.py)."""
    run_dir = Path(run_dir)
    parallel = distributed.init()
    main = distributed.is_main()
    ckpt = None
    if resume:
        ckpt = checkpoint.latest(run_dir)
        config = ckpt.config
    else:
        config.validate()
    if epochs is not None:
        config.epochs = epochs
        config.validate()
    if parallel and (config.model.model_type != "vae" or config.model.inference != "amortized"):
        raise VaekitError("distributed training is available for VAEs with amortized inference")
    if config.threads:
        torch.set_num_threads(config.threads)
    # Logits of always-blank pixels drift far negative and their gradients underflow into
    # subnormal floats, which elementwise CPU kernels handle slowly: Fashion-MNIST training
    # ran up to 1.5x slower without this.
    torch.set_flush_denormal(True)
    splits = splits or prepare(config.data, config.model.likelihood)
    fit_data_shape(config, splits)
    if not resume and main:
        _new_run(run_dir)
    distributed.barrier()
    if config.model.model_type != "vae":
        result = _train_baseline(config, run_dir, splits, progress, ckpt)
        if final_eval:
            result.model, _ = checkpoint.load_model(run_dir)
            result.test = finish_baseline(result.model, config, splits, run_dir, result)
        return result

    torch.manual_seed(config.seed)
    model = VAE(config.model)
    if distributed.rank():          # the same initial weights, each process its own noise
        torch.manual_seed(config.seed + 7919 * distributed.rank())
    optimizer = make_optimizer(model, config.lr)
    scheduler = make_scheduler(optimizer, config)
    data_rng = np.random.default_rng(config.seed)
    # variational EM keeps every training example's q parameters, warm-starting its E-steps
    local = (torch.zeros(len(splits.train), model.latent.param_size)
             if config.model.inference == "vem" else None)
    run = RunState(run_dir, config, model, optimizer, scheduler, data_rng, local)
    run.start(ckpt)
    distributed.barrier()
    step_fn = LossModule(model, config)
    if parallel:
        step_fn = torch.nn.parallel.DistributedDataParallel(step_fn)
    batches = Batches(splits.train, config.batch_size, splits.preprocess, splits.levels, data_rng,
                      shard=distributed.rows(config.batch_size))
    warmup_steps = config.warmup_epochs * len(batches)
    timer, history = Throughput(), []
    guard = Guard(config.nan_patience, run.event)
    anneal = getattr(model.latent, "anneal", None)     # e.g. the Gumbel-softmax temperature
    show = main and (progress is None or progress)
    while run.epoch < config.epochs:
        epoch = run.epoch
        model.train()
        t0, sums, n, skipped = time.perf_counter(), 0.0, 0, guard.skipped
        bar = tqdm(batches.with_rows(), total=len(batches), leave=False,
                   desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=None if show else True, dynamic_ncols=True)
        timer.resume()
        try:
            for rows, xb in bar:
                beta = (config.beta * min(1.0, run.step / warmup_steps) if warmup_steps
                        else config.beta)
                if anneal is not None:
                    anneal(run.step)
                init = None if local is None else local[rows]
                with autocast(config):
                    loss, values, params = step_fn(xb, beta, init)
                if local is not None:
                    local[rows] = params
                for m in range(config.mstep_steps):        # more than one: variational EM only
                    if m:
                        with autocast(config):
                            loss, values = _bound(model, xb, params, config, beta)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if guard.ok(model, loss, epoch, run.step):
                        optimizer.step()
                        if m == 0:
                            sums, n = sums + values.sum(0), n + len(xb)
                run.step += 1
                timer.tick(len(xb))
                if run.step % 25 == 0:
                    bar.set_postfix(loss=f"{loss.item():.2f}", refresh=False)
            if not weights_finite(model):
                raise Diverged("non-finite weights at the end of the epoch")
        except Diverged as why:
            timer.pause()
            bar.close()
            run.roll_back(str(why))
            guard.in_a_row = 0
            continue
        timer.pause()
        bar.close()
        if scheduler is not None:
            scheduler.step()
        totals = distributed.sum_all(torch.cat([torch.as_tensor(sums, dtype=torch.float64)
                                                .reshape(-1), torch.tensor([float(n)])]))
        sums, n = totals[:-1], max(totals[-1].item(), 1.0)

        model.eval()
        valid = elbo_report(model, splits.valid)
        means = (sums / n).tolist()
        record = {"epoch": epoch + 1, "step": run.step, "lr": optimizer.param_groups[0]["lr"],
                  "beta": beta, "seconds": round(time.perf_counter() - t0, 3)}
        if guard.skipped > skipped:
            record["skipped_steps"] = guard.skipped - skipped
        if anneal is not None:
            record["tau"] = model.latent.tau.item()
        if config.objective == "iwae":
            record[f"train_iwae{config.k}"] = means[0]
        else:
            log_lik, layers = means[0], means[1:]
            record.update(train_elbo=log_lik - sum(layers), train_log_lik=log_lik,
                          train_kl=sum(layers))
            if len(layers) > 1:
                record.update(train_kl_layers=layers)
        record.update(valid_elbo=valid.elbo, valid_log_lik=valid.log_lik, valid_kl=valid.kl)
        if len(valid.kl_layers) > 1:
            record.update(valid_kl_layers=valid.kl_layers)
        history.append(record)
        run.epoch += 1
        run.end_epoch(record, valid.elbo)
        every = max(1, config.epochs // 20)
        if main and ((epoch + 1) % every == 0 or epoch + 1 in (1, config.epochs)
                     or (ckpt is not None and epoch == ckpt.meta["epoch"])):
            train_value = record.get("train_elbo", means[0])      # the ELBO or the IWAE bound
            tqdm.write(f"epoch {epoch + 1:4d}  train {train_value:9.3f}  valid elbo {valid.elbo:9.3f}"
                       f"  (log p(x|z) {valid.log_lik:9.3f}, kl {valid.kl:7.3f})"
                       f"  {record['seconds']:.1f}s")

    rate = timer.rate * distributed.world_size()
    result = TrainResult(run_dir, config, model, splits, history, examples_per_s=rate)
    if final_eval:
        result.model, _ = checkpoint.load_model(run_dir)
        result.test = finish(result.model, config, splits, run_dir, rate)
    return result


def _train_baseline(config: TrainConfig, run_dir: Path, splits: Splits,
                    progress: bool | None, ckpt=None) -> TrainResult:
    """The autoencoder and the GAN (baselines.py): their own losses, the same data, logs,
    checkpoints (resumable, as a VAE's) and pictures. The GAN learns the grey-level images
    themselves."""
    from .baselines import build_model
    gan = config.model.model_type == "gan"
    torch.manual_seed(config.seed)
    model = build_model(config.model)
    data_rng = np.random.default_rng(config.seed)
    batches = Batches(splits.train, config.batch_size, "none" if gan else splits.preprocess,
                      splits.levels, data_rng)
    valid = torch.from_numpy(splits.train[:1000]) if gan else splits.valid
    if gan:
        opt_d = torch.optim.Adam(model.discriminator.parameters(), config.lr, betas=(0.5, 0.999))
        opt_g = torch.optim.Adam(model.decoder.parameters(), config.lr, betas=(0.5, 0.999))
        optimizers = {"discriminator": opt_d, "generator": opt_g}
    else:
        optimizer = optimizers = make_optimizer(model, config.lr)
    run = RunState(run_dir, config, model, optimizers, None, data_rng, None)
    run.start(ckpt)
    timer, history = Throughput(), []
    guard = Guard(config.nan_patience, run.event)
    while run.epoch < config.epochs:
        epoch = run.epoch
        model.train()
        t0, sums, n, skipped = time.perf_counter(), torch.zeros(2), 0, guard.skipped
        timer.resume()
        try:
            for xb in tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", leave=False,
                           disable=None if progress is None else not progress, dynamic_ncols=True):
                if gan:
                    with autocast(config):
                        d_loss = model.discriminator_loss(xb)
                    opt_d.zero_grad(set_to_none=True)
                    d_loss.backward()
                    # a skipped discriminator step skips the generator's too, so that the
                    # two stay in turn and bad batches in a row count towards a rollback
                    stepped = guard.ok(model.discriminator, d_loss, epoch, run.step)
                    if stepped:
                        opt_d.step()
                        with autocast(config):
                            g_loss = model.generator_loss(len(xb))
                        opt_g.zero_grad(set_to_none=True)
                        g_loss.backward()
                        stepped = guard.ok(model.decoder, g_loss, epoch, run.step)
                        if stepped:
                            opt_g.step()
                        values = torch.stack([d_loss.detach(), g_loss.detach()])
                else:
                    with autocast(config):
                        loss, _ = model.loss(xb)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    stepped = guard.ok(model, loss, epoch, run.step)
                    if stepped:
                        optimizer.step()
                    values = torch.stack([-loss.detach(), torch.tensor(0.0)])
                run.step += 1
                timer.tick(len(xb))
                if stepped:
                    sums, n = sums + values * len(xb), n + len(xb)
            if not weights_finite(model):
                raise Diverged("non-finite weights at the end of the epoch")
        except Diverged as why:
            timer.pause()
            run.roll_back(str(why))
            guard.in_a_row = 0
            continue
        timer.pause()
        n = max(n, 1)
        model.eval()
        if not gan:
            model.fit_codes(torch.from_numpy(splits.train[:10000]) if splits.preprocess == "none"
                            else splits.valid)
        record = {"epoch": epoch + 1, "step": run.step,
                  "seconds": round(time.perf_counter() - t0, 3)}
        if guard.skipped > skipped:
            record["skipped_steps"] = guard.skipped - skipped
        record.update({"train_d_loss": sums[0].item() / n, "train_g_loss": sums[1].item() / n}
                      if gan else {"train_log_lik": sums[0].item() / n})
        scores = model.validate(valid)
        score = scores.pop("score")
        record.update(scores)
        history.append(record)
        run.epoch += 1
        # the GAN has no validation criterion: its best is its last epoch
        run.end_epoch(record, score, always_best=gan)
        tqdm.write(f"epoch {epoch + 1:4d}  " + "  ".join(
            f"{k} {v:.4f}" for k, v in record.items() if k.startswith(("train_", "valid_"))))
    return TrainResult(run_dir, config, model, splits, history, examples_per_s=timer.rate)


def finish_baseline(model, config: TrainConfig, splits: Splits, run_dir: Path,
                    result: TrainResult) -> dict:
    """metrics.json and pictures of an autoencoder or GAN run."""
    test = {"n": len(splits.test)}
    if config.model.model_type == "ae":
        test["log_lik"] = model.validate(splits.test)["valid_log_lik"]
    summary = {"dataset": splits.dataset.name, "model_type": config.model.model_type,
               "train_examples_per_s": result.examples_per_s
               if math.isfinite(result.examples_per_s) else None,
               "train_seconds": sum(r["seconds"] for r in result.history), "test": test}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=1))
    shape = config.model.image_shape
    if shape:
        torch.manual_seed(config.seed)
        save_grid(model.sample(64), shape, run_dir / "samples.png")
        if config.model.model_type == "ae":
            save_grid(model.sample_fitted(64), shape, run_dir / "samples_fitted.png")
            shown = torch.from_numpy(splits.dataset.test[:32])
            save_grid(interleave_rows(shown, model.reconstruct(splits.test[:32]), 8), shape,
                      run_dir / "reconstructions.png")
    return test


def finish(model: VAE, config: TrainConfig, splits: Splits, run_dir: Path, rate: float) -> dict:
    """Test evaluation of the best weights, metrics.json, samples.png and reconstructions.png."""
    levels = splits.levels if splits.preprocess == "dequantize" else None
    test = evaluate(model, splits.test, k=config.eval_k, n_loglik=config.eval_n, levels=levels)
    if not distributed.is_main():
        return test
    best = checkpoint.read(run_dir / "best").meta
    summary = {"dataset": splits.dataset.name, "best_epoch": best["epoch"],
               "train_examples_per_s": rate if math.isfinite(rate) else None, "test": test}
    (run_dir / "metrics.json").write_text(json.dumps(summary, indent=1))
    if config.model.image_shape:
        torch.manual_seed(config.seed)
        save_grid(model.sample(64), config.model.image_shape, run_dir / "samples.png")
        shown = torch.from_numpy(splits.dataset.test[:32])   # grey originals; the model sees
        recon = model.reconstruct(splits.test[:32])          # their preprocessed versions
        save_grid(interleave_rows(shown, recon, 8), config.model.image_shape,
                  run_dir / "reconstructions.png")
    return test
