"""The VAE's training step: the inference scheme's loss for the objective, then Adam.

A step goes down the layers once: Step -> inference scheme's `loss` -> `loss_and_terms` (the
negative objective at q = latent.posterior(lambda)) -> objectives.elbo, or the bound's
values of bounds.OBJECTIVES (iwae, miwae, ...)
"""

from __future__ import annotations

import numpy as np
import torch

from .. import distributed, runs
from ..evaluation import (accuracy, active_per_layer, active_units, elbo_report, evaluate,
                          per_resolution)
from ..data.batching import Batches, draw_rows
from ..data.splits import check_classes
from ..bounds import OBJECTIVES
from ..objectives import elbo, free_bits_kl, kl_groups, labelled_elbo
from ..plots import class_samples, reconstruction_picture, samples
from ..progress import duration
from .precision import make_optimizer
from .step import Step


def bound_names(config) -> list[str]:
    """The metric names of an importance-weighted objective's values (bounds.py)."""
    return OBJECTIVES[config.objective].columns(config.k, config.m)


def loss_and_terms(model, x: torch.Tensor, params: torch.Tensor, config, beta: float):
    """(the loss: the negative bound at q = latent.posterior(params), values to log: [B, 1 + L]
    (log p(x|z), then each layer's KL) for the ELBO, [B, V] (`bound_names`) for the others)."""
    q, prior = model.latent.posterior(params), model.prior()
    bound = OBJECTIVES[config.objective].values
    if bound is not None:
        stopped = model.latent.posterior(params.detach()) if config.gradient == "dreg" else None
        values = bound(x, q, prior, model.observation, config, beta, stopped)
        return -values[:, 0].mean(), values.detach()
    terms = elbo(x, q, prior, model.observation, kl_samples=config.kl_samples)
    if config.free_bits:        # each group's batch-mean KL counts as at least the floor
        kl = free_bits_kl(kl_groups(q, prior, terms.kl_layers), config.free_bits)
        loss = -(terms.log_lik.mean() - beta * kl)
    else:
        kl = terms.kl if beta == 1.0 else beta * terms.kl     # one operation fewer each step
        loss = (kl - terms.log_lik).mean()
    return loss, torch.cat([terms.log_lik.unsqueeze(1), terms.kl_layers], 1).detach()


def loss_fn(model, x: torch.Tensor, config, beta: float, init: torch.Tensor | None = None):
    """(loss, values to log, lambda to keep or None) of the model's inference scheme."""
    return model.inference.loss(
        model, x, lambda params: loss_and_terms(model, x, params, config, beta), init)


class LossModule(torch.nn.Module):
    """loss_fn as a module's forward, so that DistributedDataParallel can wrap it."""

    def __init__(self, model, config):
        super().__init__()
        self.model, self.config = model, config

    def forward(self, x, beta, init=None):
        return loss_fn(self.model, x, self.config, beta, init)


ACTIVE_N = 1000     # validation examples for the active units of each epoch


class VAEStep(Step):
    def __init__(self, model, config, n_train, n_batches, guard, parallel):
        super().__init__(model, config, n_train, n_batches, guard, parallel)
        self.optimizers[""] = make_optimizer(model, config.lr)
        self.schedule(self.optimizers[""])
        if model.inference.local_state:   # variational EM warm-starts each example's E-step
            self.local = torch.zeros(n_train, model.latent.param_size, device=self.device)
        if parallel:
            self.loss = distributed.wrap(LossModule(model, config))
        else:                   # a module's call would cost more than the function's
            self.loss = lambda x, beta, init=None: loss_fn(model, x, config, beta, init)
        self.warmup_steps, self.beta = config.warmup_epochs * n_batches, config.beta
        self.labelled = None

    def supervise(self, x, y, batches: Batches) -> None:
        """M2: each step also takes labelled examples x, y, drawn with `batches`' generator."""
        check_classes(np.asarray(y), self.model.latent.classes)
        self.labelled = Batches(x, self.config.batch_size, batches.preprocess, batches.levels,
                                batches.generator)
        self.labels = torch.as_tensor(y, device=self.device).long()

    def supervised_loss(self) -> torch.Tensor:
        """-(L(x, y) + alpha log q(y|x)) over a batch of labelled examples."""
        rows, x = draw_rows(self.labelled, min(self.config.batch_size, len(self.labels)))
        y, model = self.labels[rows], self.model
        q = model.latent.posterior(model.posterior_params(x))   # unchecked: no host sync
        bound = labelled_elbo(x, y, q, model.prior(), model.observation)
        return -(bound + self.config.classifier_weight * q.class_log_prob(y)).mean()

    def __call__(self, rows, xb, step):
        config = self.config
        self.beta = (config.beta * min(1.0, step / self.warmup_steps) if self.warmup_steps
                     else config.beta)
        self.model.latent.anneal(step)      # e.g. the Gumbel-softmax temperature; often none
        init = None if self.local is None else self.local[rows]
        with self.precision:
            loss, values, params = self.loss(xb, self.beta, init)
            if self.labelled is not None:
                loss = loss + self.supervised_loss()
        if self.local is not None:
            self.local[rows] = params
        for m in range(self.model.inference.mstep_steps):     # more than one: variational EM
            if m:
                with self.precision:
                    loss, _ = loss_and_terms(self.model, xb, params, config, self.beta)
            ok = self.descend(loss, self.model, self.optimizers[""])
            if m == 0:
                counted = self.counted(ok, values, len(xb))
        if self.average is not None:        # a skipped step left the weights: no harm
            self.average.update()
        return counted

    def record(self, means):
        out = {"beta": self.beta}
        tau = self.model.latent.temperature
        if tau is not None:
            out["tau"] = tau
        if OBJECTIVES[self.config.objective].values is not None:
            return {**out, **dict(zip(bound_names(self.config), means))}
        log_lik, layers = means[0], means[1:]
        out.update(train_elbo=log_lik - sum(layers), train_rec_log_lik=log_lik, train_kl=sum(layers))
        return {**out, "train_kl_layers": layers} if len(layers) > 1 else out

    def validate(self, splits):
        valid = elbo_report(self.model, splits.valid)
        active, variance = active_units(self.model, splits.valid[:ACTIVE_N])
        out = {"valid_elbo": valid.elbo, "valid_rec_log_lik": valid.rec_log_lik,
               "valid_kl": valid.kl, "valid_active_units": active}
        if len(valid.kl_layers) > 1:        # a hierarchy: which of its layers or groups work
            out["valid_kl_layers"] = valid.kl_layers
            out["valid_active_units_layers"] = active_per_layer(self.model, variance)
            levels = per_resolution(self.model, valid.kl_layers)
            if levels is not None:
                out["valid_kl_resolutions"] = levels
        if self.config.data.labels and splits.valid_labels is not None:
            out["valid_accuracy"] = accuracy(self.model, splits.valid, splits.valid_labels)[0]
        return out, valid.elbo

    @staticmethod
    def summary(record):
        train = record.get(runs.trained_key(record), float("nan"))
        return (f"epoch {record['epoch']:4d}  train {train:9.3f}  valid elbo "
                f"{record['valid_elbo']:9.3f}  (log p(x|z) {record['valid_rec_log_lik']:9.3f}, "
                f"kl {record['valid_kl']:7.3f})"
                + (f"  accuracy {record['valid_accuracy']:.3f}" if "valid_accuracy" in record
                   else "") + f"  {duration(record['seconds'])}")

    @staticmethod
    def evaluate(model, splits, config):
        return evaluate(model, splits.test, k=config.eval_k, n_loglik=config.eval_n or None,
                        levels=splits.dequantized_levels,
                        labels=splits.test_labels if config.data.labels else None)

    @staticmethod
    def pictures(model, splits):
        pictures = {runs.SAMPLES: samples(model),
                    runs.RECONSTRUCTIONS: reconstruction_picture(model, splits)}
        if model.latent.classes:
            pictures[runs.CLASSES] = class_samples(model, splits.dataset.class_names)
        return pictures
