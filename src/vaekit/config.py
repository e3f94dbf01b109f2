"""Configuration: a run is a `TrainConfig`, which holds a `ModelConfig` and a `DataConfig`.

A ModelConfig is a model kind (vae, ae or gan) and one spec per axis (latent, likelihood,
network, inference, prior), each validated by its registry (registry.py) and given as its
object, its name or a {"name": ..., ...} dict. Everything round-trips through JSON, as
checkpoints store it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from . import bounds
from .data.folder import background_rgb
from .errors import VaekitError
from .inference import INFERENCE
from .kinds import KINDS
from .latents import LATENTS
from .likelihoods import LIKELIHOODS, default_for
from .networks import NETWORKS
from .priors import PRIORS
from .registry import Spec, check, check_types, near, tuples
from .settings import is_default, setting, settings

# the groups of `vaekit train --help`
DATA, OPTIMIZATION, FAULTS = "data and evaluation", "objective and optimization", \
    "faults and logging"

# the model's axes, each a registry of components (registry.py)
AXES = {"latent": LATENTS, "likelihood": LIKELIHOODS, "network": NETWORKS, "inference": INFERENCE,
        "prior": PRIORS}


def brought_network(latent, network) -> dict | None:
    """The network a latent family brings (topdown's: `spec.network`) where `network` is the
    default one, not one chosen; else None."""
    own = getattr(latent, "network", None)
    return own if own and (network is None or network == NETWORKS.spec("mlp")) else None


@dataclass
class ModelConfig:
    kind: str = "vae"                     # vae | ae (plain autoencoder) | gan
    latent: Spec | str | dict = "gaussian"
    likelihood: Spec | str | dict | None = None   # None: from the data (likelihoods.default_for)
    network: Spec | str | dict = "mlp"
    inference: Spec | str | dict = "amortized"
    prior: Spec | str | dict = "standard"     # p(z): the latent family's own, or learned

    @classmethod
    def two_layer(cls, **overrides) -> "ModelConfig":
        """Burda et al.'s two-layer model: latents [100, 50]; q hidden [[200, 200], [100, 100]];
        p hidden [[100, 100], [200, 200]]; tanh."""
        return cls(**{"latent": "hierarchical", **overrides})

    def validate(self) -> "ModelConfig":
        """Each spec normalized and validated by its own registry, then the rules between them."""
        check_types(self, "model.")
        for name, registry in AXES.items():
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, registry.spec(value, f"model.{name}."))
                check(self.kind in KINDS, f"unknown model kind {self.kind!r}; choose from {list(KINDS)}")
        own = brought_network(self.latent, self.network)
        if own:
            self.network = NETWORKS.spec(own)
        if not KINDS[self.kind].uses_likelihood:    # a GAN: the command line refuses one given
            self.likelihood = None
        KINDS[self.kind].check_model(self)
        for spec in (self.latent, self.network, self.prior):   # the rules between the axes
            spec.check_model(self)
        return self

    def refuse_retired(self) -> None:
        """A new run: one line for a setting that is kept only for old runs (Spec.retired)."""
        for name in AXES:
            spec = getattr(self, name)
            why = spec.retired() if spec is not None else None
            check(why is None, why or "")

    def resolved(self, event_shape: tuple[int, ...], levels: int | None = None,
                 train=None) -> "ModelConfig":
        """A validated copy with its likelihood set for the data's shape and `levels` (and, for
        grey images with levels, the `train` examples: likelihoods.default_for)."""
        config = dataclasses.replace(self).validate()
        if config.likelihood is None and KINDS[config.kind].uses_likelihood:
            config.likelihood = default_for(tuple(event_shape), levels, train)
        if hasattr(config.likelihood, "for_levels"):
            config.likelihood = config.likelihood.for_levels(levels)
        return config.validate()

    def to_dict(self) -> dict:
        self.validate()
        return {"kind": self.kind, **{name: None if getattr(self, name) is None
                                      else getattr(self, name).to_dict()
                                      for name in AXES}}


@dataclass
class DataConfig:
    dataset: str = setting(
        "digits", "digits (scikit-learn's 8x8) | photo-patches (colour 32x32) | fashion-mnist | "
        "mnist | cifar10 | path to .npy/.npz | folder of PNG/JPEG images")
    preprocess: str = setting(
        "auto", "auto (what the likelihood needs) | binarize | dequantize | none", group=DATA)
    valid_fraction: float = setting(0.1, "of the training data, held out for validation",
                                    group=DATA)
    seed: int = setting(0, "the validation split and the test set's fixed binarization",
                        group=OPTIMIZATION)
    image_size: int | None = setting(
        None, "image folders: centre-crop and resize every image to S x S", group=DATA,
        none="the images' own size, which must agree")
    background: str = setting(
        "white", "image folders: what transparent pixels (RGBA, grey + alpha, palette "
        "transparency) are composited onto: white | black | R,G,B (0..255). White: icons and "
        "sprites are drawn for light backgrounds, and the colour under a transparent pixel is "
        "never data", metavar="COLOUR", group=DATA)
    bits: int | None = setting(None, "8-bit data: keep the top B bits (2^B levels), e.g. 5 "
                               "for 32 levels", none="8: all", group=DATA)
    labels: int | None = setting(
        None, "semi-supervised (M2, with --latent joint): keep the labels of N training "
        "examples, balanced over classes; the rest are unlabelled", metavar="N",
        none="none, unsupervised", group=DATA)

    def validate(self) -> "DataConfig":
        check_types(self, "data.")
        check(self.preprocess in ("auto", "binarize", "dequantize", "none"),
              f"unknown preprocess {self.preprocess!r}; choose binarize, dequantize, none or auto")
        check(0.0 <= self.valid_fraction < 1.0,
              f"valid_fraction must be in [0, 1), got {self.valid_fraction}")
        check(self.image_size is None or self.image_size >= 1,
              f"image_size must be >= 1, got {self.image_size}")
        check(background_rgb(self.background) is not None,
              f"background must be white, black or R,G,B with R, G, B in 0..255, got "
              f"{self.background!r}")
        check(self.bits is None or 1 <= self.bits <= 8, f"bits must be in 1..8, got {self.bits}")
        check(self.labels is None or self.labels >= 1, f"labels must be >= 1, got {self.labels}")
        return self


PRECISIONS = ("float32", "bfloat16", "float16")
GRADIENTS = ("standard", "dreg")
SCHEDULES = ("constant", "cosine", "exponential")
LOGGERS = ("jsonl", "tensorboard")
VAE = ("vae",)                 # settings of a VAE's objective: the others have no ELBO or bound


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    objective: str = setting("elbo", "VAEs: " + bounds.describe(), kinds=VAE,
                             group=OPTIMIZATION)
    k: int = setting(1, "VAEs: samples K of each importance-weighted bound ("
                     + bounds.listed("values") + ")", kinds=VAE, group=OPTIMIZATION)
    m: int = setting(1, "VAEs: independent sets M of K samples (" + bounds.listed("sets") + ")",
                     kinds=VAE, group=OPTIMIZATION)
    ciwae_beta: float = setting(0.5, "VAEs: ciwae's weight c of the ELBO (1: the ELBO, 0: "
                                "IWAE_K)", kinds=VAE, group=OPTIMIZATION)
    gradient: str = setting(
        "standard", f"VAEs: the gradient estimator of {bounds.listed('dreg')}: standard | dreg "
        "(Tucker et al. 2018's doubly reparameterized gradient: the same expected gradient, "
        "a lower variance for the encoder's; Gaussian latents without a flow)", kinds=VAE, choices=GRADIENTS,
        group=OPTIMIZATION)
    beta: float = setting(1.0, "VAEs: KL weight (1: the ELBO; beta-VAE otherwise)", kinds=VAE,
                          group=OPTIMIZATION)
    warmup_epochs: float = setting(
        0.0, "VAEs: KL weight rising linearly from 0 to beta over this many epochs; against "
        "posterior collapse", kinds=VAE, group=OPTIMIZATION)
    free_bits: float = setting(
        0.0, "VAEs: free bits, a KL floor per latent group in nats (Kingma et al. 2016: each "
        "unit's, each categorical variable's or each layer's KL, or the whole KL under a "
        "learned --prior or a --flow, counts as at least this in the loss; 0: off); against posterior "
        "collapse", kinds=VAE, metavar="NATS",
        group=OPTIMIZATION)
    kl_samples: int = setting(
        1, "VAEs: draws of z for the ELBO's KL where it has no closed form (a learned --prior, "
        "a --flow): the ELBO's own draw and S - 1 more, averaged; each divides the variance "
        "of q's gradient from -log p(z) (README: Learned priors); a closed-form KL does not "
        "change", kinds=VAE, metavar="S", group=OPTIMIZATION)
    alpha: float | None = setting(
        None, "with --labels: weight of log q(y|x) on each labelled example", kinds=VAE,
        none="0.1 x the number of labels: Kingma et al.'s 0.1 N per example",
        group=OPTIMIZATION)
    epochs: int = setting(100, "passes over the training data (300 when neither the command "
                          "line nor a config file gives it and the data are the digits)",
                          resume=True, group=OPTIMIZATION)
    batch_size: int = setting(128, "examples per optimizer step", group=OPTIMIZATION)
    lr: float = setting(1e-3, "Adam step size", resume=True, group=OPTIMIZATION)
    lr_schedule: str = setting("constant", "constant | cosine | exponential",
                               kinds=("vae", "ae"), group=OPTIMIZATION)
    lr_decay: float = setting(0.99, "exponential schedule: factor per epoch", group=OPTIMIZATION)
    min_lr: float = setting(1e-5, "cosine schedule: the learning rate it ends at",
                            group=OPTIMIZATION)
    grad_clip: float = setting(0.0, "clip the gradient's global norm to this before each "
                               "step (0: off)", group=OPTIMIZATION)
    grad_skip: float = setting(
        0.0, "skip the update when the gradient's global norm (before clipping) exceeds this "
        "(0: off; Child 2021's VDVAE: a deep hierarchy's rare huge gradients, e.g. from a "
        "group whose q sits far from p, would undo many steps); the skipped count is logged "
        "each epoch as norm_skipped_steps", metavar="NORM", group=OPTIMIZATION)
    ema: float = setting(
        0.0, "keep an exponential moving average of the weights with this decay per step "
        "(e.g. 0.999; VDVAE 0.9999; warmed up: min(d, (1 + n) / (10 + n)) at step n) and "
        "validate, checkpoint, evaluate and draw with it (training/ema.py); 0: off", metavar="DECAY", kinds=VAE, group=OPTIMIZATION)
    seed: int = setting(0, "seeds the initial weights and the batches", group=OPTIMIZATION)
    threads: int | None = setting(None, "torch intra-op threads", resume=True,
                                  none="torch's choice", group=OPTIMIZATION)
    precision: str = setting(
        "float32", "float32 | bfloat16 | float16: the training step's matrix products in that "
        "type (float32 weights, optimizer and evaluation; float16 with a loss scale; see "
        "training/precision.py)", group=OPTIMIZATION)
    device: str = setting("auto", "auto (CUDA, else MPS, else CPU) | cpu | cuda | cuda:N | mps; "
                          "on --resume, where to continue", resume=True, group=OPTIMIZATION)
    compile: bool = setting(False, "torch.compile the networks (pays on GPUs, see README)",
                            resume=True, group=OPTIMIZATION)
    keep_checkpoints: int = setting(3, "training checkpoints kept, one per epoch (the newest)",
                                    resume=True, group=FAULTS)
    nan_patience: int = setting(10, "non-finite steps in a row before rolling back",
                                resume=True, group=FAULTS)
    max_rollbacks: int = setting(3, "rollbacks, each halving the learning rate, before giving "
                                 "up", resume=True, group=FAULTS)
    eval_k: int = setting(5000, "importance samples for the test log p(x)", resume=True,
                          group=DATA)
    eval_n: int = setting(1000, "test images for log p(x) (0 = all)", resume=True, group=DATA)
    logger: str = setting("jsonl", "jsonl (metrics.jsonl only) | tensorboard (also TensorBoard "
                          "event files in the run folder: tensorboard --logdir runs)",
                          resume=True, choices=LOGGERS, group=FAULTS)
    image_every: int = setting(10, "tensorboard: samples and reconstructions every N epochs",
                               resume=True, group=FAULTS)

    def validate(self) -> "TrainConfig":
        if self.eval_n is None:             # older runs: None meant all
            self.eval_n = 0
        check_types(self)
        self.model.validate()
        self.data.validate()
        self._check_objective()
        self._check_labels()
        self._check_schedule()
        self._check_run()
        KINDS[self.model.kind].check_training(self)
        return self

    def _check_objective(self) -> None:
        known = bounds.names()
        check(self.objective in known, f"unknown objective {self.objective!r}"
              f"{near(self.objective, known)}; choose from {known}")
        objective = bounds.OBJECTIVES[self.objective]
        check(self.k >= 1, f"k must be >= 1, got {self.k}")
        check(self.k == 1 or objective.values,
              f"k = {self.k} is the number of importance samples of the "
              f"{bounds.listed('values')} objectives; the {self.objective} objective "
              "takes one (give --objective iwae)")
        check(self.m >= 1, f"m must be >= 1, got {self.m}")
        check(self.m == 1 or objective.sets,
              f"m = {self.m} is the number of K-sample sets of {bounds.listed('sets')}; the "
              f"{self.objective} objective has one (give --objective "
              f"{bounds.listed('sets', 'or')})")
        check(0 <= self.ciwae_beta <= 1, f"ciwae_beta must be in [0, 1], got {self.ciwae_beta}")
        check(is_default(self, "ciwae_beta") or self.objective == "ciwae",
              "ciwae_beta is the ciwae objective's weight of the ELBO (give --objective ciwae)")
        check(self.gradient in GRADIENTS, f"unknown gradient {self.gradient!r}"
              f"{near(self.gradient, GRADIENTS)}; choose from {list(GRADIENTS)}")
        check(self.gradient == "standard" or objective.dreg,
              f"the dreg gradient is for the {bounds.listed('dreg')} objectives, not "
              f"{self.objective}")
        check(0 <= self.beta < float("inf"), f"beta must be >= 0 and finite, got {self.beta}")
        check(self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        check(self.free_bits >= 0, f"free_bits must be >= 0, got {self.free_bits}")
        check(self.kl_samples >= 1, f"kl_samples must be >= 1, got {self.kl_samples}")
        check(self.kl_samples == 1 or self.objective == "elbo",
              f"kl_samples is the ELBO's KL estimate; the {self.objective} objective weighs "
              "log p(z) / q(z|x) at its own draws (give --objective elbo)")
        check(self.free_bits == 0 or self.objective == "elbo",
              f"free_bits floors the ELBO's KL terms; the {self.objective} objective has none")

    def _check_schedule(self) -> None:
        check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.grad_clip >= 0, f"grad_clip must be >= 0 (0: off), got {self.grad_clip}")
        check(0 <= self.ema < 1, f"ema must be in [0, 1) (0: off), got {self.ema}")
        check(self.grad_skip >= 0, f"grad_skip must be >= 0 (0: off), got {self.grad_skip}")
        check(self.lr_schedule in SCHEDULES, f"unknown lr_schedule {self.lr_schedule!r}"
              f"{near(self.lr_schedule, SCHEDULES)}; choose constant, cosine or exponential")
        check(0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay}")
        check(is_default(self, "lr_decay") or self.lr_schedule == "exponential",
              f"lr_decay is the exponential schedule's factor; this run's schedule is "
              f"{self.lr_schedule} (give --lr-schedule exponential)")
        check(self.min_lr >= 0, f"min_lr must be >= 0, got {self.min_lr}")
        check(is_default(self, "min_lr") or self.lr_schedule == "cosine",
              f"min_lr is the cosine schedule's end; this run's schedule is "
              f"{self.lr_schedule} (give --lr-schedule cosine)")

    def _check_run(self) -> None:
        check(self.threads is None or self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        check(self.precision in PRECISIONS, f"unknown precision {self.precision!r}"
              f"{near(self.precision, PRECISIONS)}; choose from {sorted(PRECISIONS)}")
        check(self.device.strip() != "",
              f"device must be a name ({'auto | cpu | cuda | cuda:N | mps'}), got {self.device!r}")
        check(self.keep_checkpoints >= 1,
              f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        check(self.nan_patience >= 1, f"nan_patience must be >= 1, got {self.nan_patience}")
        check(self.max_rollbacks >= 0, f"max_rollbacks must be >= 0, got {self.max_rollbacks}")
        check(self.eval_k >= 1, f"eval_k must be >= 1, got {self.eval_k}")
        check(self.eval_n >= 0, f"eval_n must be >= 0 (0 = all), got {self.eval_n}")
        check(self.logger in LOGGERS, f"unknown logger {self.logger!r}; choose from {list(LOGGERS)}")
        check(self.image_every >= 1, f"image_every must be >= 1, got {self.image_every}")
        check(is_default(self, "image_every") or self.logger == "tensorboard",
              "image_every is how often TensorBoard gets pictures; give --logger tensorboard")

    def _check_labels(self) -> None:
        labelled = self.data.labels is not None
        check(self.alpha is None or (labelled and self.alpha >= 0),
              "alpha weighs the classifier on labelled examples: give --labels N (and alpha "
              ">= 0)")
        check(not labelled or (self.model.kind == "vae" and self.model.latent.name == "joint"
                               and self.model.inference.name == "amortized"),
              "semi-supervised training (labels) needs a VAE with joint latents (--latent "
              "joint: a class y and a style z) and amortized inference")

    @property
    def classifier_weight(self) -> float:
        """M2's alpha: Kingma et al.'s 0.1 N, per labelled example of a mean over the data."""
        return self.alpha if self.alpha is not None else 0.1 * (self.data.labels or 0)

    def changes_on_resume(self, asked: "TrainConfig", run: str = "the run") -> dict:
        """{setting: (this run's value, asked)}; changes to non-RESUMABLE settings are refused."""
        old, new = _flat(self.to_dict()), _flat(asked.to_dict())
        changed = {k: (old.get(k), new.get(k)) for k in sorted(old.keys() | new.keys())
                   if old.get(k) != new.get(k)}
        fixed = [k for k in changed if k not in RESUMABLE]
        if fixed:
            key, (was, now) = fixed[0], changed[fixed[0]]
            raise VaekitError(f"--resume keeps the run's model, data and objective: {key} is "
                              f"{was!r} in {run}, {now!r} asked (start a new run instead, e.g. "
                              f"--config {run}/config.toml with the new option and a new --name)")
        return changed

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "data")}
        return {"model": self.model.to_dict(), "data": dataclasses.asdict(self.data), **d}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        model = _build(ModelConfig, _named(d.pop("model", {})))
        data = _build(DataConfig, d.pop("data", {}))
        return _build(cls, d, model=model, data=data).validate()


# settings a resumed run may change (declared with resume=True): its length, step size,
# evaluation, fault handling, logging and where it runs
RESUMABLE = tuple(f.name for f in settings(TrainConfig) if f.metadata["resume"])


def _flat(d: dict, prefix: str = "") -> dict:
    """{"model": {"latent": {"dim": 50}}} -> {"model.latent.dim": 50}."""
    out = {}
    for k, v in d.items():
        out.update(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else {prefix + k: v})
    return out


def _named(model: dict) -> dict:
    """A [model.latent] (network, inference) table without a name means the default's."""
    if not isinstance(model, dict):
        return model
    defaults = {f.name: f.default for f in fields(ModelConfig)}
    return {k: {"name": defaults[k], **v} if isinstance(v, dict) and "name" not in v
            and isinstance(defaults.get(k), str) else v for k, v in model.items()}


_WHERE = {"ModelConfig": "model.", "DataConfig": "data.", "TrainConfig": ""}


def _build(cls, d: dict, **extra):
    where = _WHERE[cls.__name__]
    check(isinstance(d, dict), f"{where.rstrip('.') or 'the configuration'} must be a table "
                               f"of settings, got {d!r}")
    known = {f.name for f in fields(cls)} - set(extra)
    unknown = sorted(set(d) - known)
    if unknown:
        table = where.rstrip(".") or "the top level"
        raise VaekitError(f"unknown key {where}{unknown[0]}{near(unknown[0], known)}; {table} "
                          f"has {sorted(known)}")
    return cls(**{k: tuples(v) for k, v in d.items()}, **extra)
