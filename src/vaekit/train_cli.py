"""The `vaekit train` command: its options, the configuration they build, and its summary."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .errors import VaekitError


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def add_train(sub):
    p = sub.add_parser("train", help="train a VAE (default: Gaussian latents on digits)",
                       description="Train a VAE. With no arguments: the Burda et al. one-layer "
                       "model on scikit-learn's 8x8 digits, written to runs/<name>/.")
    p.add_argument("--dataset", default="digits",
                   help="digits | fashion-mnist | mnist | path to .npy/.npz (default: digits)")
    p.add_argument("--name", help="run name under --runs (default: <dataset>-<time>)")
    p.add_argument("--runs", default="runs", help="folder for runs (default: runs)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    m = p.add_argument_group("model")
    m.add_argument("--latent", "--model", dest="latent", default="gaussian",
                   help="latent family of a VAE: gaussian | hierarchical | categorical (default: "
                   "gaussian); or a baseline on the same networks: ae (plain autoencoder) | gan")
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
    m.add_argument("--likelihood", help="bernoulli | gaussian (default bernoulli)")
    m.add_argument("--min-std", type=float, help="gaussian likelihood sigma floor (default 1e-3)")
    m.add_argument("--gaussian-variance", choices=("decoder", "pixel", "shared"),
                   help="gaussian likelihood: variance from the decoder (default), one per "
                   "pixel, or one shared")
    i = p.add_argument_group("inference")
    i.add_argument("--inference", choices=("amortized", "vem", "semi"),
                   help="amortized encoder (default), variational EM (no encoder: q optimized "
                   "per example), or semi-amortized (encoder + refinement steps)")
    i.add_argument("--refine-steps", type=int, help="semi: refinement steps S (default 5)")
    i.add_argument("--local-lr", type=float, help="semi, vem: Adam step on q (default 0.02)")
    i.add_argument("--mstep-steps", type=int, default=1,
                   help="vem: optimizer steps on the decoder per E-step (default 1)")
    i.add_argument("--estep-max-iter", type=int, help="vem: E-step iteration cap (default 300)")
    i.add_argument("--estep-tol", type=float,
                   help="vem: relative ELBO rise per window that counts as progress (1e-3)")
    m.add_argument("--encoder-hidden", type=_ints, metavar="H1,H2,...", help="default 200,200")
    m.add_argument("--decoder-hidden", type=_ints, metavar="H1,H2,...", help="default 200,200")
    m.add_argument("--activation", help="default tanh")
    o = p.add_argument_group("objective and optimization")
    o.add_argument("--objective", default="elbo", help="elbo | iwae")
    o.add_argument("--k", type=int, default=1, help="samples for the iwae objective")
    o.add_argument("--beta", type=float, default=1.0, help="KL weight")
    o.add_argument("--warmup-epochs", type=float, default=0.0, help="linear KL warm-up length")
    o.add_argument("--epochs", type=int, help="default: 300 on digits, 100 otherwise")
    o.add_argument("--batch-size", type=int, default=128)
    o.add_argument("--lr", type=float, default=1e-3)
    o.add_argument("--lr-schedule", default="constant", help="constant | cosine | exponential")
    o.add_argument("--lr-decay", type=float, default=0.99)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    o.add_argument("--precision", default="float32",
                   help="float32 | bfloat16: the training step's matrix products in bfloat16 "
                        "(float32 weights, optimizer and evaluation)")
    f = p.add_argument_group("faults")
    f.add_argument("--keep-checkpoints", type=int, default=3,
                   help="training checkpoints kept, one per epoch (default 3)")
    f.add_argument("--nan-patience", type=int, default=10,
                   help="non-finite steps in a row before rolling back (default 10)")
    f.add_argument("--max-rollbacks", type=int, default=3,
                   help="rollbacks, each halving the learning rate, before giving up (default 3)")
    d = p.add_argument_group("data and evaluation")
    d.add_argument("--preprocess", default="auto", help="auto | binarize | dequantize | none")
    d.add_argument("--valid-fraction", type=float, default=0.1)
    d.add_argument("--eval-k", type=int, default=5000, help="importance samples for test log p(x)")
    d.add_argument("--eval-n", type=int, default=1000, help="test images for log p(x) (0 = all)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_train)


def model_config(args):
    """The ModelConfig the train options ask for: the family's defaults, then each option given."""
    import dataclasses
    from .config import ModelConfig
    base = ModelConfig.two_layer() if args.latent == "hierarchical" else ModelConfig()
    if args.latent in ("vae", "ae", "gan"):
        base = dataclasses.replace(base, model_type=args.latent)
        args.latent = "gaussian"
    given = {name: getattr(args, name) for name in (
        "latent", "latent_dim", "likelihood", "min_std", "encoder_hidden", "decoder_hidden",
        "activation", "decoder_sees", "posterior_path", "categorical_vars", "categorical_classes",
        "straight_through", "tau", "tau_min", "anneal_rate", "anneal_every", "gaussian_variance",
        "inference", "refine_steps", "local_lr", "estep_max_iter", "estep_tol")
        if getattr(args, name) is not None}
    config = dataclasses.replace(base, **given)
    dims = args.latent_dims or (config.latent_dim, *config.upper_dims)
    n_upper = len(dims) - 1
    q_hidden = args.q_upper_hidden or (config.q_upper_hidden[:1] or ((100, 100),))[0]
    p_hidden = args.p_upper_hidden or (config.p_upper_hidden[:1] or ((100, 100),))[0]
    return dataclasses.replace(config, latent_dim=dims[0], upper_dims=tuple(dims[1:]),
                               q_upper_hidden=(tuple(q_hidden),) * n_upper,
                               p_upper_hidden=(tuple(p_hidden),) * n_upper)


def cmd_train(args) -> int:
    from .config import DataConfig, TrainConfig
    from .training import train
    if args.resume:
        result = train(None, args.resume, resume=True, epochs=args.epochs,
                       progress=False if args.no_progress else None)
    else:
        config = TrainConfig(
            model=model_config(args),
            data=DataConfig(dataset=args.dataset, preprocess=args.preprocess,
                            valid_fraction=args.valid_fraction, seed=args.seed),
            objective=args.objective, k=args.k, beta=args.beta, warmup_epochs=args.warmup_epochs,
            mstep_steps=args.mstep_steps,
            epochs=args.epochs if args.epochs is not None else (300 if args.dataset == "digits" else 100),
            batch_size=args.batch_size, lr=args.lr, lr_schedule=args.lr_schedule,
            lr_decay=args.lr_decay, seed=args.seed, threads=args.threads,
            precision=args.precision, eval_k=args.eval_k,
            keep_checkpoints=args.keep_checkpoints, nan_patience=args.nan_patience,
            max_rollbacks=args.max_rollbacks,
            eval_n=args.eval_n or None).validate()  # 0 = all
        if not args.name and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise VaekitError("under torchrun give the run a --name (every process must "
                              "agree on its folder)")
        name = args.name or f"{Path(args.dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        result = train(config, Path(args.runs) / name,
                       progress=False if args.no_progress else None)
    t = result.test
    from . import distributed
    if not distributed.is_main():
        return 0
    print(f"run: {result.run_dir}")
    if result.config.model.model_type != "vae":
        extra = f"; test reconstruction log p(x|z=f(x)) {t['log_lik']:.3f}" if "log_lik" in t else ""
        print(f"{result.config.model.model_type} trained (no likelihood of x){extra}; "
              f"{result.examples_per_s:,.0f} examples/s")
        return 0
    print(f"test ELBO {t['elbo']:.3f} nats (log p(x|z) {t['log_lik']:.3f}, KL {t['kl']:.3f}); "
          f"log p(x) {-t['nll']:.3f} +- {t['nll_se']:.3f} (K={t['nll_k']}, n={t['nll_n']}); "
          f"{t['nll_bits_per_dim']:.4f} bits/dim; active units {t['active_units']}/{t['latent_dim']}")
    if len(t["kl_layers"]) > 1:
        print("per layer (z_1 first): KL " + ", ".join(f"{v:.3f}" for v in t["kl_layers"]) +
              "; active units " + ", ".join(f"{a}/{d}" for a, d in
                                              zip(t["active_units_layers"], t["latent_dims"])))
    print(f"training speed {result.examples_per_s:,.0f} examples/s")
    return 0
