"""The `vaekit train` command: the configuration its options and --config file give, a
resumed run's allowed changes, and its summary. Its setting options come from the settings'
declarations (options.py); a model option the chosen components do not take is refused.
"""

from __future__ import annotations

import copy
import os
import shlex
import time
from dataclasses import fields
from pathlib import Path

from .. import checkpoint, config_file, distributed, options
from ..config import AXES, ModelConfig, TrainConfig, brought_network
from ..errors import Interrupted, VaekitError
from ..kinds import KINDS
from ..latents import LATENTS
from ..options import AXIS_GROUPS
from ..runs import Run
from ..training import train


def _command_options(p) -> None:
    """The command's own options: where settings come from and where the run goes."""
    p.add_argument("--config", metavar="FILE.toml",
                   help="settings from a TOML file (every run writes its own as "
                        "RUN/config.toml); options given here override it")
    p.add_argument("--print-config", action="store_true",
                   help="print the configuration these options give, as TOML, and exit (with "
                        "the likelihood the data choose when none is given)")
    p.add_argument("--name", help="run name under --runs (default: <dataset>-<time>)")
    p.add_argument("--runs", default="runs", help="folder for runs (default: runs)")
    p.add_argument("--resume", metavar="RUN",
                   help="continue the run in this folder; only --epochs, --lr, the evaluation, "
                        "fault, logging and device options may change")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (it is off anyway when stderr is not a terminal)")


VEM_COST = ("an epoch costs about 100 to 180 times an amortized one on digits: "
            "bench/vem_cost.py")


def _component_options(groups: dict) -> None:
    """The choice of a component on each axis (their settings: options.py)."""
    default = {f.name: f.default for f in fields(ModelConfig)}
    m = groups[AXIS_GROUPS["latent"]]
    m.add_argument("--model", choices=(*KINDS, *LATENTS.names()),
                   help=f"vae | ae (plain autoencoder: no KL, no ELBO) | gan, on the same "
                        f"networks; a latent family's name here means a VAE with it (default: "
                        f"{default['kind']})")
    m.add_argument("--latent", help="latent family of a VAE: gaussian (z = mu + sigma eps) | "
                   "hierarchical (p(x|z1) p(z1|z2) p(z2)) | categorical (discrete, trained with "
                   "the Gumbel-softmax relaxation) | joint (a class y and a Gaussian style z: "
                   f"p(x|y,z), q(y|x) q(z|x,y); M2 with --labels) (default: {default['latent']})")
    m.add_argument("--likelihood", help="p(x|z): bernoulli | gaussian (mean and variance from "
                   "the decoder) | dlogistic-mix (PixelCNN++'s discretized logistic mixture) | "
                   "dgaussian (discretized Gaussian) (default: bernoulli for grey images, "
                   "gaussian for colour)")
    m.add_argument("--prior", help="p(z) of a VAE: standard (the latent family's own: N(0, I) "
                   "for gaussian) | mog (a learned mixture of K diagonal Gaussians) | vamp "
                   "(VampPrior: the mixture of q(z|u_k) at K learned pseudo-inputs u_k; Tomczak "
                   "& Welling 2018); the learned ones for --latent gaussian "
                   f"(default: {default['prior']})")
    groups[AXIS_GROUPS["network"]].add_argument(
        "--network", help="mlp (Burda et al.'s sizes) | conv (strided convolutions, "
        f"DCGAN-like) | resnet (residual blocks) (default: {default['network']})")
    groups[AXIS_GROUPS["inference"]].add_argument(
        "--inference", help="amortized (an encoder gives q's parameters for every x) | vem "
        "(variational EM: no encoder; each example's q optimized in an E-step, then an M-step "
        f"on the decoder; {VEM_COST}) | semi (semi-amortized: encoder, then refinement steps) "
        f"(default: {default['inference']})")


def add_train(sub):
    p = sub.add_parser("train", help="train a VAE (default: Gaussian latents on digits)",
                       description="Train a VAE by maximizing the ELBO (or the IWAE bound) with "
                       "amortized inference (an encoder gives q(z|x)), variational EM or the "
                       "semi-amortized hybrid. With no arguments: the Burda et al. one-layer "
                       "model on scikit-learn's 8x8 digits, written to runs/<name>/. "
                       "Every option can also be set in a TOML file (--config).")
    _command_options(p)
    groups = options.help_groups(p)
    _component_options(groups)
    options.add_train_options(groups)
    p.set_defaults(handler=cmd_train)
    return p


def _kind_and_latent(args, model) -> tuple[str, str]:
    if args.model in KINDS:
        return args.model, args.latent or model.latent.name
    if args.model and args.latent and args.model != args.latent:
        raise VaekitError(f"--model {args.model} and --latent {args.latent} disagree; give one")
    if args.model or args.latent:
        return "vae", args.model or args.latent
    return model.kind, model.latent.name


def _refuse_unused(option: str, names: dict) -> None:
    owners = options.component_options().get(option, [])
    chosen = ", ".join(f"{axis} {name or 'from the data'}" for axis, name in names.items())
    raise VaekitError(f"--{option.replace('_', '-')} does not apply to this model ({chosen}); "
                      f"it is for {' or '.join(owners)}")


def model_config(args, model):
    """`model` with the model options given, each to the component that takes it."""
    kind, latent = _kind_and_latent(args, model)
    if args.likelihood and not KINDS[kind].uses_likelihood:
        raise VaekitError(f"a {kind} has no likelihood: drop --likelihood and its options")
    given = {k: v for k, v in options.given(args).items() if k in options.component_options()}
    if "latent_dim" in given and "latent_dims" in given:
        raise VaekitError("give --latent-dim or --latent-dims, not both")
    asked = {"latent": latent, "likelihood": args.likelihood, "network": args.network,
             "inference": args.inference, "prior": args.prior}
    specs, taken, names = {}, set(), {}
    for axis, registry in AXES.items():
        current = getattr(model, axis)
        name = names[axis] = asked[axis] or _brought(axis, specs, current) or \
            (current.name if current is not None else None)
        if name is None:            # the likelihood follows the data
            specs[axis] = None
            continue
        cls = registry[name]
        base = current if current is not None and current.name == name else None
        specs[axis] = cls.from_options(given, base)
        taken |= cls.takes()
    for option in sorted(set(given) - taken):
        _refuse_unused(option, names)
    return ModelConfig(kind=kind, **specs).validate()


def _brought(axis: str, specs: dict, current) -> str | None:
    """The name of the network the latent family brings, where the model has the default one:
    its options (--stem) then go to it (config.brought_network)."""
    own = brought_network(specs.get("latent"), current) if axis == "network" else None
    return own["name"] if own else None


def overridden(config, args):
    config = copy.deepcopy(config)
    config.model = model_config(args, config.model)
    options.apply(config, options.given(args))
    return config.validate()


def train_config(args):
    """A new run's configuration: the --config file's (or defaults), then the options given."""
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
    """The run's own configuration with the options given (train() refuses forbidden ones)."""
    if args.config:
        raise VaekitError("give --resume RUN or --config FILE, not both (the run's settings "
                          "are its own; options given with --resume change what may change)")
    return overridden(checkpoint.latest(Path(args.resume)).config, args)


def cmd_train(args) -> int:
    if not args.resume or args.print_config or not distributed.will_be_main():
        return _train(args)
    with Run(args.resume).hold(resume=True):    # before the run is read (train holds it on)
        return _train(args)


def likelihood_note(config) -> str | None:
    """A comment line naming the likelihood the data will choose (likelihoods.default_for), when
    none is given: the data are loaded for it as training would, unless they need a download."""
    model, data = config.model, config.data
    if model.likelihood is not None or not KINDS[model.kind].uses_likelihood:
        return None
    from ..data.sources import DOWNLOADED
    if data.dataset in DOWNLOADED:
        return (f"# likelihood not given: chosen from the data when training loads "
                f"{data.dataset} (not loaded here: it may need a download)")
    from ..data import load_dataset, reduce_bits
    d = reduce_bits(load_dataset(data.dataset, data.image_size, data.background), data.bits)
    name = model.resolved(d.event_shape, d.levels, d.train).likelihood.name
    levels = f", {d.levels} levels" if d.levels else ""
    return (f'# likelihood not given: "{name}" for this data ({d.name}, {list(d.event_shape)}'
            f"{levels}; likelihoods.default_for)")


def _with_likelihood_note(text: str, config) -> str:
    """`text` (the TOML) with likelihood_note's line at the end of its [model] table's keys."""
    note = likelihood_note(config)
    if note is None:
        return text
    head, sep, rest = text.partition("\n[model]\n")
    if not sep:
        return f"{text}{note}\n"
    kind, _, tables = rest.partition("\n")           # [model]'s one key; then its tables
    return f"{head}{sep}{kind}\n{note}\n{tables}"


def _train(args) -> int:
    config = _resumed_config(args) if args.resume else train_config(args)
    if args.print_config:
        print(_with_likelihood_note(config_file.dumps(config), config), end="")
        return 0
    progress = False if args.no_progress else None
    if args.resume:
        run_dir = Path(args.resume)
    else:
        if not args.name and int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise VaekitError("under torchrun give the run a --name (every process must "
                              "agree on its folder)")
        dataset = config.data.dataset
        name = args.name or f"{Path(dataset).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        run_dir = Path(args.runs) / name
    try:
        result = train(config, run_dir, resume=bool(args.resume), progress=progress)
    except KeyboardInterrupt:
        raise Interrupted(how_to_continue(run_dir)) from None
    if distributed.is_main():
        print(summary(result))
    return 0


def how_to_continue(run_dir: Path) -> str:
    """After Ctrl-C: the epoch of the run's newest checkpoint and the command that resumes it
    (checkpoints are published whole, so the newest is what --resume takes)."""
    found = Run(run_dir).checkpoints()
    if not found:
        return f"interrupted before {run_dir} had a checkpoint; start it again (no --resume)"
    try:
        at = f" (last checkpoint: epoch {checkpoint.read(found[0]).meta['epoch']})"
    except VaekitError:
        at = ""
    return (f"interrupted{at}; continue with: vaekit train --resume "
            f"{shlex.quote(str(run_dir))}")


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
            "layer; on the whole KL under a learned prior or a flow), or a smaller --beta")


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
              f"{t['rec_log_lik']:.3f} - KL(q(z|x) || p(z)) {t['kl']:.3f} (one draw of z"
              f"{', the KL too: log q(z) - log p(z)' if t.get('kl_sampled') else ''}, "
              f"n={t['n']})",
              f"test log p(x) {t['log_px']:.3f} +- {t['nll_se']:.3f} nats per image "
              f"(importance sampled, K={t['nll_k']}, n={t['nll_n']}); NLL "
              f"{t['nll_bits_per_dim']:.4f} bits/dim",
              f"active units {t['active_units']}/{t['latent_dim']} (Var_x "
              f"{'E_q[z_i]' if not result.model.latent.kl_sampled else 'f(mu)_i'} > 0.01"
              + (" Var_p(z_i))" if result.config.model.prior.learned else ")")]
    if result.config.model.prior.learned:
        lines.append(f"prior {t['prior']}")
    if len(t["kl_layers"]) > 1:
        parts = ("per part (y, then z)" if result.config.model.latent.name == "joint"
                 else "per layer (z_1 first)")
        lines.append(f"{parts}: KL " + ", ".join(f"{v:.3f}" for v in t["kl_layers"])
                     + " nats; active units " + ", ".join(
                         f"{a}/{d}" for a, d in zip(t["active_units_layers"], t["latent_dims"])))
    if "kl_resolutions" in t:
        lines.append("per resolution (coarsest first): KL " + ", ".join(
            f"{k} {v:.3f}" for k, v in t["kl_resolutions"].items()) + " nats")
    if "accuracy" in t:
        lines.append(f"classifier argmax_y q(y|x): test accuracy {t['accuracy']:.4f} +- "
                     f"{t['accuracy_se']:.4f} ({result.config.data.labels} labels)")
    note = collapse_note(t)
    lines += ([note] if note else []) + [f"training speed {_speed(result)}"]
    return "\n".join(lines)
