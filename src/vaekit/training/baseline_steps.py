"""Training steps of the lecture's contrasts (baselines/): the autoencoder maximises the
reconstruction term alone; the GAN alternates a discriminator step and a generator step."""

from __future__ import annotations

import torch

from .. import devices, runs
from ..evaluation import chunks
from ..plots import reconstruction_picture, samples
from .precision import make_optimizer
from .step import Step


class AutoencoderStep(Step):
    def __init__(self, model, config, n_train, n_batches, guard, parallel):
        super().__init__(model, config, n_train, n_batches, guard, parallel)
        self.optimizers[""] = make_optimizer(model, config.lr)
        self.schedule(self.optimizers[""])

    def __call__(self, rows, xb, step):
        with self.precision:
            log_lik = self.model.log_lik(xb)
        ok = self.descend(-log_lik.mean(), self.model, self.optimizers[""])
        return self.counted(ok, log_lik.detach().unsqueeze(1), len(xb))

    def record(self, means):
        return {"train_rec_log_lik": means[0]}

    def validate(self, splits):
        self.model.fit_codes(splits.valid)
        value = mean_log_lik(self.model, splits.valid)
        return {"valid_rec_log_lik": value}, value

    @staticmethod
    def evaluate(model, splits, config):
        return {"n": len(splits.test), "rec_log_lik": mean_log_lik(model, splits.test)}

    @staticmethod
    def pictures(model, splits):
        return {runs.SAMPLES: samples(model), runs.SAMPLES_FITTED: samples(model, fitted=True),
                runs.RECONSTRUCTIONS: reconstruction_picture(model, splits)}


@torch.no_grad()
def mean_log_lik(model, x: torch.Tensor, batch_size: int = 1000) -> float:
    """The autoencoder's mean log p(x | z = f(x)) over x, in batches (bounded memory)."""
    device = devices.of(model)
    return torch.cat([model.log_lik(x[rows].to(device)).double()
                      for rows in chunks(len(x), batch_size)]).mean().item()


class GANStep(Step):
    always_best = True

    def __init__(self, model, config, n_train, n_batches, guard, parallel):
        super().__init__(model, config, n_train, n_batches, guard, parallel)
        betas = (0.5, 0.999)                    # Radford et al.'s DCGAN settings
        self.optimizers["discriminator"] = make_optimizer(model.discriminator, config.lr,
                                                          betas=betas)
        self.optimizers["generator"] = make_optimizer(model.decoder, config.lr, betas=betas)

    def __call__(self, rows, xb, step):
        model, opt = self.model, self.optimizers
        with self.precision:
            fake = model.generate(len(xb))
            d_loss = model.discriminator_loss(xb, fake)
        # a skipped discriminator step skips the generator's too, so that the two stay in
        # turn and bad batches in a row count towards a rollback
        ok = self.descend(d_loss, model.discriminator, opt["discriminator"])
        with self.precision:
            g_loss = model.generator_loss(fake)      # the same fakes, against the new D
        ok = self.descend(g_loss, model.decoder, opt["generator"], allow=ok)
        values = torch.stack([d_loss.detach(), g_loss.detach()]).float().expand(len(xb), 2)
        return self.counted(ok, values, len(xb))

    def record(self, means):
        return {"train_d_loss": means[0], "train_g_loss": means[1]}

    def validate(self, splits):
        accuracy = self.model.accuracy(splits.valid)
        return {"valid_discriminator_accuracy": accuracy}, -abs(accuracy - 0.5)
