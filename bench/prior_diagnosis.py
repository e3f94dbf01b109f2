"""Benchmark: why a learned prior does not lower Fashion-MNIST's test NLL (issue 25).

At 50 epochs (gap_closers.py) the VampPrior and the mixture-of-Gaussians prior were worse than
N(0, I) by 3.2 and 1.9 nats. This trains, at one epoch budget and seed (the MLP, the setup of
gap_closers.py), the models that tell the candidate causes apart:
  gaussian         N(0, I), the closed-form KL (the baseline)
  gaussian-warmup  the same with the KL weight raised from 0 to 1 over --warmup epochs
  gaussian-sampled-kl  N(0, I) as a fixed one-component mixture: the same model as gaussian,
                   its KL by the one-sample estimate that a learned prior needs
  mog1             a learned one-component Gaussian prior: the one-sample KL estimate, nothing
                   else (a learned mean and scale are absorbed by the decoder's first layer)
  vamp             the VampPrior, --vamp-components pseudo-inputs
  vamp-warmup      the same with the warm-up (Tomczak & Welling trained theirs so)
  NAME-kl16        any of the sampled-KL models above with --kl-samples 16: the KL averaged
                   over the ELBO's draw and 15 more (objectives.py)
and prints, per model, the test NLL (K=1000, first 1000 test images), the ELBO terms on test and
on the first 10,000 training images (over-fitting), and for the VampPrior how q(z|x) sits
among the prior's components q(z|u_k): the mean largest responsibility at z ~ q(z|x), the
number of components that are the likeliest for some test image, the KL to the nearest
component min_k KL(q(z|x) || q(z|u_k)) against the KL to the prior (the mixture bound
KL(q || p) <= min_k KL(q || q_k) + log K). Then paired NLL differences against gaussian.

    python bench/prior_diagnosis.py --epochs 20
"""

from __future__ import annotations

import dataclasses
import json
import math
import re

import torch
from torch.distributions import kl_divergence

import vaekit
from common import fashion_config, paired_difference, parse_args, train_and_evaluate
from vaekit.data.splits import fixed, prepare
from vaekit.evaluation import elbo_report
from vaekit.priors import PRIORS, GaussianMixture, Prior, PriorSpec

MODELS = ("gaussian", "gaussian-warmup", "gaussian-sampled-kl", "mog1", "vamp", "vamp-warmup")


def options(p) -> None:
    p.add_argument("--vamp-components", type=int, default=500)
    p.add_argument("--warmup", type=float, default=5.0, help="warm-up epochs of the -warmup runs")


def configs(args) -> dict:
    vamp = vaekit.ModelConfig(prior={"name": "vamp", "components": args.vamp_components})
    mog1 = vaekit.ModelConfig(prior={"name": "mog", "components": 1})
    sampled = vaekit.ModelConfig(prior={"name": SampledStandard.name})
    return {"gaussian": (vaekit.ModelConfig(), 0.0), "gaussian-warmup": (vaekit.ModelConfig(),
            args.warmup), "gaussian-sampled-kl": (sampled, 0.0), "mog1": (mog1, 0.0),
            "vamp": (vamp, 0.0), "vamp-warmup": (vamp, args.warmup)}


class SampledStandardPrior(Prior):
    """N(0, I) written as a fixed one-component mixture: torch registers no KL from a Gaussian
    to a mixture, so the ELBO's KL is the one-sample estimate (as for a learned prior)."""
    def distribution(self, model):
        zeros = torch.zeros(1, model.latent.z_size)
        return GaussianMixture(zeros.new_zeros(1), zeros, zeros + 1)

    def describe(self) -> str:
        return "N(0, I) as a one-component mixture; KL by one sample"


@dataclasses.dataclass
class SampledStandard(PriorSpec):
    name = "standard-sampled-kl"
    learned = False

    def validate(self):
        return self

    def build(self, latent, event_shape):
        return SampledStandardPrior()


PRIORS.register(SampledStandard)


@torch.no_grad()
def placement(model, test) -> dict:
    """How q(z|x) sits among the VampPrior's components (first 1000 test images)."""
    x = test[:1000]
    q = model.latent.gaussian(model.posterior_params(x))              # batch [n], event [Z]
    components = model.latent.gaussian(model.encode(model.latent_prior.pseudo_inputs()))
    loc, scale = components.base_dist.loc, components.base_dist.scale      # [K, Z]
    z = q.rsample((10,))                                                   # [10, n, Z]
    log_qk = components.log_prob(z.unsqueeze(-2))                          # [10, n, K]
    responsibility = log_qk.softmax(-1)
    kl_to = kl_divergence(_unsqueezed(q, 1), _unsqueezed(components, 0))   # [n, K]
    nearest = kl_to.min(-1)
    kl_prior = (q.log_prob(z) - model.prior().log_prob(z)).mean(0)        # [n]
    return {"mean_max_responsibility": round(responsibility.max(-1).values.mean().item(), 3),
            "components_nearest_to_some_image": int(nearest.indices.unique().numel()),
            "kl_to_nearest_component": round(nearest.values.mean().item(), 3),
            "kl_to_prior": round(kl_prior.mean().item(), 3),
            "log_K": round(math.log(len(loc)), 3)}


def _unsqueezed(d, dim: int):
    """A diagonal Gaussian with a new batch dim at `dim`: q [n] -> [n, 1], q_k [K] -> [1, K]."""
    base = d.base_dist
    return torch.distributions.Independent(
        torch.distributions.Normal(base.loc.unsqueeze(dim), base.scale.unsqueeze(dim)), 1)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], MODELS, options)
    table, results = configs(args), {}
    model_splits = [training_images(args.seed)]
    for name in args.models.split(","):
        match = re.fullmatch(r"(.+)-kl(\d+)", name)
        base, samples = match.groups() if match else (name, 1)
        model_config, warmup = table[base]
        config = dataclasses.replace(fashion_config(model_config, args.epochs, args.threads,
                                                    args.seed, warmup_epochs=warmup),
                                     kl_samples=int(samples or 1))

        def extra(model, test, _name=name):
            train = model_splits[0][:10000]
            report = elbo_report(model, train)
            out = {"train_elbo": round(report.elbo, 3), "train_rec_log_lik":
                   round(report.rec_log_lik, 3), "train_kl": round(report.kl, 3)}
            if _name.startswith("vamp"):
                out |= placement(model, test)
            return out

        results[name] = train_and_evaluate(name, config, extra=extra)
        print(json.dumps(results[name]), flush=True)
    print(json.dumps({f"{a} minus gaussian": paired_difference(a, "gaussian")
                      for a in results if a != "gaussian" and "gaussian" in results}))


def training_images(seed: int) -> torch.Tensor:
    """The first 10,000 training images, binarized once (as the test images are)."""
    splits = prepare(vaekit.DataConfig("fashion-mnist", valid_fraction=0.0, seed=seed))
    return fixed(splits.train[:10000], splits.preprocess, splits.levels, seed + 3)


if __name__ == "__main__":
    main()
