"""The `vaekit train` command: its options, the configuration they build, and its summary.

The model options go to the component they belong to: each spec's `options` (registry.py)
names the options it takes, so an option the chosen components do not take is refused with
one line instead of being silently ignored.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

from .errors import VaekitError


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _likelihood_options(m) -> None:
    m.add_argument("--likelihood", help="bernoulli | gaussian | dlogistic-mix (PixelCNN++'s "
                   "discretized logistic mixture) | dgaussian (discretized Gaussian) (default: "
                   "bernoulli for grey images, gaussian for colour)")
    m.add_argument("--mixtures", type=int, help="dlogistic-mix: components M (default 10)")
    m.add_argument("--min-scale", type=float,
                   help="dlogistic-mix, dgaussian: scale floor in levels (default 0.05)")
    m.add_argument("--min-std", type=float, help="gaussian likelihood sigma floor (default 1e-3)")
    m.add_argument("--gaussian-variance", choices=("decoder", "pixel", "shared"),
                   help="gaussian likelihood: variance from the decoder (default), one per "
                   "pixel, or one shared")


def _model_options(p) -> None:
    m = p.add_argument_group("model")
    m.add_argument("--model", choices=("vae", "ae", "gan", "gaussian", "hierarchical",
                                       "categorical"),
                   help="vae (default) | ae (plain autoencoder) | gan, on the same networks; a "
                   "latent family's name here means a VAE with that family")
    m.add_argument("--latent", help="latent family of a VAE: gaussian (default) | "
                   "hierarchical | categorical (Gumbel-softmax)")
    m.add_argument("--latent-dim", type=int, help="latent size (default 50; z_1 of a hierarchy)")
    m.add_argument("--latent-dims", type=_ints, metavar="D1,D2,...",
                   help="hierarchical: sizes of z_1..z_L (default 100,50: Burda et al.)")
    m.add_argument("--q-upper-hidden", type=_ints, metavar="H1,...",
                   help="hierarchical: hidden sizes of each q(z_l+1|z_l) (default 100,100)")
    m.add_argument("--p-upper-hidden", type=_ints, metavar="H1,...",
                   help="hierarchical: hidden sizes of each p(z_l|z_l+1) (default 100,100)")
    m.add_argument("--decoder-sees", choices=("z1", "all"),
                   help="hierarchical: p(x|z_1) or p(x|z_1..z_L) (default z1)")
    m.add_argument("--posterior-path", choices=("bottom-up", "top-down"),
                   help="hierarchical: inference order (default bottom-up; top-down = ladder)")
    m.add_argument("--categorical-vars", type=int, help="categorical: variables N (default 20)")
    m.add_argument("--categorical-classes", type=int, help="categorical: classes K (default 10)")
    m.add_argument("--straight-through", action="store_true", default=None,
                   help="categorical: hard one-hot forward, relaxed gradient backward")
    m.add_argument("--tau", type=float, help="categorical: initial temperature (default 1.0)")
    m.add_argument("--tau-min", type=float, help="categorical: final temperature (default 0.5)")
    m.add_argument("--anneal-rate", type=float,
                   help="categorical: tau = max(tau_min, tau exp(-rate step)) (default 3e-5)")
    m.add_argument("--anneal-every", type=int, help="categorical: steps per update (default 500)")
    _likelihood_options(m)
    n = p.add_argument_group("networks")
    n.add_argument("--network", default="mlp",
                   help="mlp (default; Burda et al.'s sizes) | conv (strided convolutions, "
                   "DCGAN-like) | resnet (residual blocks)")
    n.add_argument("--encoder-hidden", type=_ints, metavar="H1,H2,...",
                   help="mlp: encoder hidden sizes (default 200,200)")
    n.add_argument("--decoder-hidden", type=_ints, metavar="H1,H2,...",
                   help="mlp: decoder hidden sizes (default 200,200)")
    n.add_argument("--channels", type=_ints, metavar="C1,C2,...",
                   help="conv, resnet: widths, one per halving of the image (default 32,64)")
    n.add_argument("--blocks", type=int, help="resnet: residual blocks per stage (default 1)")
    n.add_argument("--activation",
                   help="default tanh (mlp), leaky_relu (conv, resnet)")
    i = p.add_argument_group("inference")
    i.add_argument("--inference", default="amortized",
                   help="amortized encoder (default), vem (variational EM: no encoder, q "
                   "optimized per example), or semi (encoder + refinement steps)")
    i.add_argument("--refine-steps", type=int, help="semi: refinement steps S (default 5)")
    i.add_argument("--local-lr", type=float, help="semi, vem: Adam step on q (default 0.02)")
    i.add_argument("--mstep-steps", type=int,
                   help="vem: optimizer steps on the decoder per E-step (default 1)")
    i.add_argument("--estep-max-iter", type=int, help="vem: E-step iteration cap (default 300)")
    i.add_argument("--estep-tol", type=float,
                   help="vem: relative ELBO rise per window that counts as progress (1e-3)")


def add_train(sub):
    p = sub.add_parser("train", help="train a VAE (default: Gaussian latents on digits)",
                       description="Train a VAE. With no arguments: the Burda et al. one-layer "
                       "model on scikit-learn's 8x8 digits, written to runs/<name>/.")
    p.add_argument("--dataset", default="digits",
                   help="digits | photo-patches (colour) | fashion-mnist | mnist | cifar10 | "
                   "path to .npy/.npz | folder of PNG/JPEG images (default: digits)")
    p.add_argument("--name", help="run name under --runs (default: <dataset>-<time>)")
    p.add_argument("--runs", default="runs", help="folder for runs (default: runs)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    _model_options(p)
    o = p.add_argument_group("objective and optimization")
    o.add_argument("--objective", help="VAEs: elbo (default) | iwae")
    o.add_argument("--k", type=int, help="VAEs: samples for the iwae objective (default 1)")
    o.add_argument("--beta", type=float, help="VAEs: KL weight (default 1)")
    o.add_argument("--warmup-epochs", type=float,
                   help="VAEs: linear KL warm-up length in epochs (default 0)")
    o.add_argument("--epochs", type=int, help="default: 300 on digits, 100 otherwise")
    o.add_argument("--batch-size", type=int, default=128, help="(default %(default)s)")
    o.add_argument("--lr", type=float, default=1e-3, help="Adam step size (default %(default)s)")
    o.add_argument("--lr-schedule", default="constant", help="constant (default) | cosine | exponential")
    o.add_argument("--lr-decay", type=float, default=0.99,
                   help="exponential schedule: factor per epoch (default %(default)s)")
    o.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    o.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    o.add_argument("--precision", default="float32",
                   help="float32 | bfloat16 | float16: the training step's matrix products in "
                        "that type (float32 weights, optimizer and evaluation; float16 with a "
                        "loss scale)")
    o.add_argument("--device", help="auto (default: CUDA, else MPS, else CPU) | cpu | cuda | "
                                    "cuda:N | mps; on --resume, where to continue")
    o.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the networks (pays on GPUs; see README)")
    f = p.add_argument_group("faults")
    f.add_argument("--keep-checkpoints", type=int, default=3,
                   help="training checkpoints kept, one per epoch (default 3)")
    f.add_argument("--nan-patience", type=int, default=10,
                   help="non-finite steps in a row before rolling back (default 10)")
    f.add_argument("--max-rollbacks", type=int, default=3,
                   help="rollbacks, each halving the learning rate, before giving up (default 3)")
    d = p.add_argument_group("data and evaluation")
    d.add_argument("--image-size", type=int,
                   help="image folders: centre-crop and resize every image to S x S")
    d.add_argument("--bits", type=int, help="8-bit data: keep the top B bits (2^B levels), "
                   "e.g. 5 for 32 levels")
    d.add_argument("--preprocess", default="auto", help="auto (default: what the likelihood needs) | binarize | dequantize | none")
    d.add_argument("--valid-fraction", type=float, default=0.1,
                   help="of the training data, held out (default %(default)s)")
    d.add_argument("--eval-k", type=int, help="importance samples for test log p(x) (default 5000)")
    d.add_argument("--eval-n", type=int, default=1000, help="test images for log p(x) (0 = all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_train)


def _kind_and_latent(args) -> tuple[str, str]:
    from .kinds import KINDS
    if args.model in KINDS:
        return args.model, args.latent or "gaussian"
    if args.model and args.latent and args.model != args.latent:
        raise VaekitError(f"--model {args.model} and --latent {args.latent} disagree; give one")
    return "vae", args.model or args.latent or "gaussian"


def _registries():
    from .inference import INFERENCE
    from .latents import LATENTS
    from .likelihoods import LIKELIHOODS
    from .networks import NETWORKS
    return LATENTS, LIKELIHOODS, NETWORKS, INFERENCE


def model_options() -> set[str]:
    """Every command-line option that some component takes (the specs' `options`)."""
    return {dest for registry in _registries() for cls in registry.specs.values()
            for dest in cls.options}


def model_config(args):
    """The ModelConfig the train options ask for: each component's defaults, then each option
    it takes; an option that no chosen component takes is refused."""
    from .config import ModelConfig
    from .kinds import KINDS
    kind, latent = _kind_and_latent(args)
    if args.likelihood and not KINDS[kind].uses_likelihood:
        raise VaekitError(f"a {kind} has no likelihood: drop --likelihood and its options")
    given = {k: getattr(args, k) for k in model_options() if getattr(args, k) is not None}
    if "latent_dim" in given and "latent_dims" in given:
        raise VaekitError("give --latent-dim or --latent-dims, not both")
    specs, taken = {}, set()
    for axis, registry, name in zip(("latent", "likelihood", "network", "inference"),
                                    _registries(),
                                    (latent, args.likelihood, args.network, args.inference)):
        if name is None:            # the likelihood follows the data
            specs[axis] = None
            continue
        cls = registry[name]
        specs[axis] = cls.from_options(given)
        taken |= set(cls.options)
    unused = sorted(set(given) - taken)
    if unused:
        flag = "--" + unused[0].replace("_", "-")
        owners = [f"--{axis} {cls.name}" for axis, registry in
                  zip(("latent", "likelihood", "network", "inference"), _registries())
                  for cls in registry.specs.values() if unused[0] in cls.options]
        raise VaekitError(f"{flag} does not apply to this model (latent {latent}, likelihood "
                          f"{args.likelihood or 'from the data'}, network {args.network}, "
                          f"inference {args.inference}); it is for {' or '.join(owners)}")
    return ModelConfig(kind=kind, **specs).validate()


TRAINING = ("objective", "k", "beta", "warmup_epochs", "batch_size", "lr", "lr_schedule",
            "lr_decay", "seed", "threads", "precision", "eval_k", "keep_checkpoints",
            "nan_patience", "max_rollbacks", "device", "compile")


def train_config(args):
    from .config import DataConfig, TrainConfig
    given = {k: getattr(args, k) for k in TRAINING if getattr(args, k) is not None}
    return TrainConfig(
        model=model_config(args),
        data=DataConfig(dataset=args.dataset, preprocess=args.preprocess,
                        valid_fraction=args.valid_fraction, seed=args.seed,
                        image_size=args.image_size, bits=args.bits),
        epochs=args.epochs if args.epochs is not None else (300 if args.dataset == "digits"
                                                            else 100),
        eval_n=args.eval_n or None, **given).validate()  # eval_n 0 = all


def cmd_train(args) -> int:
    from .training import train
    if args.resume:
        result = train(None, args.resume, resume=True, epochs=args.epochs, device=args.device,
                       progress=False if args.no_progress else None)
    else:
        config = train_config(args)
        if not args.name and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise VaekitError("under torchrun give the run a --name (every process must "
                              "agree on its folder)")
        name = args.name or f"{Path(args.dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        result = train(config, Path(args.runs) / name,
                       progress=False if args.no_progress else None)
    from . import distributed
    if distributed.is_main():
        print(summary(result))
    return 0


def _speed(rate: float) -> str:
    return f"{rate:,.0f} examples/s" if math.isfinite(rate) else \
        "speed not timed (fewer than 20 training steps)"


def summary(result) -> str:
    t, kind = result.test, result.config.model.kind
    lines = [f"run: {result.run_dir}"]
    if "nll" not in t:
        extra = f"; test reconstruction log p(x|z=f(x)) {t['log_lik']:.3f}" if "log_lik" in t else ""
        return "\n".join(lines + [f"{kind} trained (no likelihood of x){extra}; "
                                  f"{_speed(result.examples_per_s)}"])
    lines.append(f"test ELBO {t['elbo']:.3f} nats (log p(x|z) {t['log_lik']:.3f}, KL "
                 f"{t['kl']:.3f}); log p(x) {-t['nll']:.3f} +- {t['nll_se']:.3f} "
                 f"(K={t['nll_k']}, n={t['nll_n']}); {t['nll_bits_per_dim']:.4f} bits/dim; "
                 f"active units {t['active_units']}/{t['latent_dim']}")
    if len(t["kl_layers"]) > 1:
        lines.append("per layer (z_1 first): KL " + ", ".join(f"{v:.3f}" for v in t["kl_layers"])
                     + "; active units " + ", ".join(f"{a}/{d}" for a, d in
                                                     zip(t["active_units_layers"], t["latent_dims"])))
    lines.append(f"training speed {_speed(result.examples_per_s)}")
    return "\n".join(lines)
