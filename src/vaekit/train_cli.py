"""The `vaekit train` command: the configuration its options and --config file give, a
resumed run's allowed changes, and its summary.

The model options go to the component they belong to: each spec's `options` (registry.py)
names the options it takes, so an option the chosen components do not take is refused with
one line instead of being silently ignored. The options themselves are in train_args.py.
"""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

from . import config_file
from .errors import VaekitError
from .train_args import DATA, TRAINING, add_options


def add_train(sub):
    p = sub.add_parser("train", help="train a VAE (default: Gaussian latents on digits)",
                       description="Train a VAE by maximizing the ELBO (or the IWAE bound) with "
                       "amortized inference (an encoder gives q(z|x)), variational EM or the "
                       "semi-amortized hybrid. With no arguments: the Burda et al. one-layer "
                       "model on scikit-learn's 8x8 digits, written to runs/<name>/. "
                       "Every option can also be set in a TOML file (--config).")
    add_options(p)
    p.set_defaults(handler=cmd_train)
    return p


def _kind_and_latent(args, model) -> tuple[str, str]:
    from .kinds import KINDS
    if args.model in KINDS:
        return args.model, args.latent or model.latent.name
    if args.model and args.latent and args.model != args.latent:
        raise VaekitError(f"--model {args.model} and --latent {args.latent} disagree; give one")
    if args.model or args.latent:
        return "vae", args.model or args.latent
    return model.kind, model.latent.name


def _registries():
    from .inference import INFERENCE
    from .latents import LATENTS
    from .likelihoods import LIKELIHOODS
    from .networks import NETWORKS
    return {"latent": LATENTS, "likelihood": LIKELIHOODS, "network": NETWORKS,
            "inference": INFERENCE}


def model_options() -> set[str]:
    """Every command-line option that some component takes (the specs' `options`)."""
    return {dest for registry in _registries().values() for cls in registry.specs.values()
            for dest in cls.options}


def _refuse_unused(option: str, names: dict) -> None:
    owners = [f"--{axis} {cls.name}" for axis, registry in _registries().items()
              for cls in registry.specs.values() if option in cls.options]
    chosen = ", ".join(f"{axis} {name or 'from the data'}" for axis, name in names.items())
    raise VaekitError(f"--{option.replace('_', '-')} does not apply to this model ({chosen}); "
                      f"it is for {' or '.join(owners)}")


def model_config(args, model):
    """`model` (a validated ModelConfig) with the model options given: a component named
    anew starts from its defaults; each given option goes to the component that takes it,
    and an option that no chosen component takes is refused."""
    from .config import ModelConfig
    from .kinds import KINDS
    kind, latent = _kind_and_latent(args, model)
    if args.likelihood and not KINDS[kind].uses_likelihood:
        raise VaekitError(f"a {kind} has no likelihood: drop --likelihood and its options")
    given = {k: getattr(args, k) for k in model_options() if getattr(args, k) is not None}
    if "latent_dim" in given and "latent_dims" in given:
        raise VaekitError("give --latent-dim or --latent-dims, not both")
    asked = {"latent": latent, "likelihood": args.likelihood, "network": args.network,
             "inference": args.inference}
    specs, taken, names = {}, set(), {}
    for axis, registry in _registries().items():
        current = getattr(model, axis)
        name = asked[axis] or (current.name if current is not None else None)
        names[axis] = name
        if name is None:            # the likelihood follows the data
            specs[axis] = None
            continue
        cls = registry[name]
        base = current if current is not None and current.name == name else None
        specs[axis] = cls.from_options(given, base)
        taken |= set(cls.options)
    for option in sorted(set(given) - taken):
        _refuse_unused(option, names)
    return ModelConfig(kind=kind, **specs).validate()


def overridden(config, args):
    """A copy of `config` (a TrainConfig) with every option given on the command line."""
    config = copy.deepcopy(config)
    config.model = model_config(args, config.model)
    for name in TRAINING:
        if getattr(args, name) is not None:
            setattr(config, name, getattr(args, name))
    for name in DATA:
        if getattr(args, name) is not None:
            setattr(config.data, name, getattr(args, name))
    return config.validate()


def train_config(args):
    """The configuration of a new run: the --config file's settings (or the defaults), then
    the options given. Epochs default to 300 on digits, 100 elsewhere."""
    from .config import TrainConfig
    raw = config_file.read(args.config) if args.config else {}
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    dataset = args.dataset or data.get("dataset", "digits")
    raw.setdefault("epochs", 300 if dataset == "digits" else 100)
    if "seed" in raw and isinstance(raw.get("data", {}), dict):   # as --seed: the split too
        raw["data"] = {"seed": raw["seed"], **raw.get("data", {})}
    try:
        base = TrainConfig.from_dict(raw)
    except VaekitError as e:
        raise VaekitError(f"{args.config}: {e}" if args.config else str(e)) from None
    return overridden(base, args)


def _resumed_config(args):
    """The run's own configuration with the options given (train() refuses those a resumed
    run may not change)."""
    from . import checkpoint
    if args.config:
        raise VaekitError("give --resume RUN or --config FILE, not both (the run's settings "
                          "are its own; options given with --resume change what may change)")
    return overridden(checkpoint.latest(Path(args.resume)).config, args)


def cmd_train(args) -> int:
    from .training import train
    config = _resumed_config(args) if args.resume else train_config(args)
    if args.print_config:
        print(config_file.dumps(config), end="")
        return 0
    progress = False if args.no_progress else None
    if args.resume:
        result = train(config, args.resume, resume=True, progress=progress)
    else:
        if not args.name and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise VaekitError("under torchrun give the run a --name (every process must "
                              "agree on its folder)")
        dataset = config.data.dataset
        name = args.name or f"{Path(dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        result = train(config, Path(args.runs) / name, progress=progress)
    from . import distributed
    if distributed.is_main():
        print(summary(result))
    return 0


def _speed(result) -> str:
    if not result.steps_run:
        return "no training step ran (the run had already reached its epochs)"
    return (f"{result.examples_per_s:,.0f} examples/s over the {result.steps_run:,} training "
            "steps this command ran")


COLLAPSE_KL = 0.1       # nats per example: below it q(z|x) is about p(z) for every x


def collapse_note(t: dict) -> str | None:
    """A line naming posterior collapse when the test KL or the active units are about zero."""
    if t["kl"] >= COLLAPSE_KL and t["active_units"] > 0:
        return None
    return (f"posterior collapse (or too few epochs yet): KL {t['kl']:.3f} nats and "
            f"{t['active_units']}/{t['latent_dim']} active units: q(z|x) is about p(z) for "
            "every x and the decoder ignores z. Try --warmup-epochs 10 (the KL weight rises "
            "from 0) or --free-bits 0.5 (a KL floor per latent unit, categorical variable or "
            "layer), or a smaller --beta")


def summary(result) -> str:
    """What the run gives, each number with what it is and its unit."""
    t, kind = result.test, result.config.model.kind
    lines = [f"run: {result.run_dir}"]
    if "nll" not in t:
        extra = (f"; test reconstruction log p(x|z=f(x)) {t['rec_log_lik']:.3f} nats per image"
                 if "rec_log_lik" in t else "")
        return "\n".join(lines + [f"{kind} trained (no likelihood of x){extra}",
                                  f"training speed {_speed(result)}"])
    lines += [f"test ELBO {t['elbo']:.3f} nats per image = E_q[log p(x|z)] "
              f"{t['rec_log_lik']:.3f} - KL(q(z|x) || p(z)) {t['kl']:.3f} (one draw of z, "
              f"n={t['n']})",
              f"test log p(x) {t['log_px']:.3f} +- {t['nll_se']:.3f} nats per image "
              f"(importance sampled, K={t['nll_k']}, n={t['nll_n']}); NLL "
              f"{t['nll_bits_per_dim']:.4f} bits/dim",
              f"active units {t['active_units']}/{t['latent_dim']} (Var_x E_q[z_i] > 0.01)"]
    if len(t["kl_layers"]) > 1:
        parts = ("per part (y, then z)" if result.config.model.latent.name == "joint"
                 else "per layer (z_1 first)")
        lines.append(f"{parts}: KL " + ", ".join(f"{v:.3f}" for v in t["kl_layers"])
                     + " nats; active units " + ", ".join(
                         f"{a}/{d}" for a, d in zip(t["active_units_layers"], t["latent_dims"])))
    if "accuracy" in t:
        lines.append(f"classifier argmax_y q(y|x): test accuracy {t['accuracy']:.4f} +- "
                     f"{t['accuracy_se']:.4f} ({result.config.data.labels} labels)")
    note = collapse_note(t)
    lines += ([note] if note else []) + [f"training speed {_speed(result)}"]
    return "\n".join(lines)
