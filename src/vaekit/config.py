"""Configuration: a run is a `TrainConfig`, which holds a `ModelConfig` and a `DataConfig`.

A ModelConfig is a model kind (vae, or the lecture's contrasts ae and gan) and one spec per
axis, each validated by the module that owns it (registry.py): latent family (latents/),
likelihood (likelihoods/), network (networks/) and inference scheme (inference/). A spec may be
given as its object, its name, or a {"name": ..., ...} dict:

    ModelConfig(latent=latents.Categorical(vars=30), likelihood="gaussian", network="conv")

Everything round-trips through JSON, which is how checkpoints store it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from .registry import Spec, check, tuples

def _kinds() -> dict:
    from .kinds import KINDS
    return KINDS


def _registries():
    from .inference import INFERENCE
    from .latents import LATENTS
    from .likelihoods import LIKELIHOODS
    from .networks import NETWORKS
    return {"latent": LATENTS, "likelihood": LIKELIHOODS, "network": NETWORKS,
            "inference": INFERENCE}


@dataclass
class ModelConfig:
    kind: str = "vae"                     # vae | ae (plain autoencoder) | gan
    latent: Spec | str | dict = "gaussian"
    likelihood: Spec | str | dict | None = None   # None: from the data (likelihoods.default_for)
    network: Spec | str | dict = "mlp"
    inference: Spec | str | dict = "amortized"

    @classmethod
    def two_layer(cls, **overrides) -> "ModelConfig":
        """Burda et al.'s two-layer model: latents [100, 50]; q hidden [[200, 200], [100, 100]];
        p hidden [[100, 100], [200, 200]]; tanh."""
        return cls(**{"latent": "hierarchical", **overrides})

    def validate(self) -> "ModelConfig":
        """Each spec normalized and validated by its own registry, then the rules between them."""
        for name, registry in _registries().items():
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, registry.spec(value))
        kinds = _kinds()
        check(self.kind in kinds, f"unknown model kind {self.kind!r}; choose from {list(kinds)}")
        if not kinds[self.kind].uses_likelihood:    # a GAN: the command line refuses one given
            self.likelihood = None
        kinds[self.kind].check_model(self)
        return self

    def resolved(self, event_shape: tuple[int, ...], levels: int | None = None) -> "ModelConfig":
        """A validated copy whose likelihood is set, when its kind has one (the data's default
        when it was None), with the data's number of `levels` where it scores levels and
        names none."""
        from .likelihoods import default_for
        config = dataclasses.replace(self).validate()
        if config.likelihood is None and _kinds()[config.kind].uses_likelihood:
            config.likelihood = default_for(tuple(event_shape))
        if hasattr(config.likelihood, "for_levels"):
            config.likelihood = config.likelihood.for_levels(levels)
        return config.validate()

    def to_dict(self) -> dict:
        self.validate()
        return {"kind": self.kind, **{name: None if getattr(self, name) is None
                                      else getattr(self, name).to_dict()
                                      for name in _registries()}}


@dataclass
class DataConfig:
    dataset: str = "digits"   # a name (digits, photo-patches, fashion-mnist, mnist, cifar10),
                              # a .npy/.npz path, or a folder of PNG/JPEG images
    preprocess: str = "auto"              # binarize | dequantize | none; auto follows the model
    valid_fraction: float = 0.1           # of the training split, held out for validation
    seed: int = 0                         # for the split and the fixed evaluation binarization
    image_size: int | None = None         # image folders: centre-crop and resize to S x S
    bits: int | None = None               # 8-bit data: keep the top bits (2^bits levels)

    def validate(self) -> "DataConfig":
        check(self.preprocess in ("auto", "binarize", "dequantize", "none"),
              f"unknown preprocess {self.preprocess!r}; choose binarize, dequantize, none or auto")
        check(0.0 <= self.valid_fraction < 1.0,
              f"valid_fraction must be in [0, 1), got {self.valid_fraction}")
        check(self.image_size is None or self.image_size >= 1,
              f"image_size must be >= 1, got {self.image_size}")
        check(self.bits is None or 1 <= self.bits <= 8, f"bits must be in 1..8, got {self.bits}")
        return self


PRECISIONS = ("float32", "bfloat16", "float16")
OBJECTIVES = ("elbo", "iwae")


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    objective: str = "elbo"               # elbo | iwae
    k: int = 1                            # importance samples for the iwae objective
    beta: float = 1.0                     # weight of the KL term (beta-VAE)
    warmup_epochs: float = 0.0            # linear KL warm-up from 0 to beta over this many epochs
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"         # constant | cosine | exponential
    lr_decay: float = 0.99                # per-epoch factor for the exponential schedule
    min_lr: float = 1e-5                  # floor of the cosine schedule
    seed: int = 0
    threads: int | None = None            # torch intra-op threads; None keeps torch's default
    precision: str = "float32"            # float32 | bfloat16 | float16 (see training/precision.py)
    device: str = "auto"                  # auto | cpu | cuda | cuda:N | mps (see devices.py)
    compile: bool = False                 # torch.compile the networks
    keep_checkpoints: int = 3             # training checkpoints kept (one per epoch, newest)
    nan_patience: int = 10                # consecutive non-finite steps before a rollback
    max_rollbacks: int = 3                # rollbacks (each halving lr) before giving up
    eval_k: int = 5000                    # importance samples for the final test log p(x)
    eval_n: int | None = 1000             # test examples for the final log p(x); None = all

    def validate(self) -> "TrainConfig":
        self.model.validate()
        self.data.validate()
        check(self.objective in OBJECTIVES,
              f"unknown objective {self.objective!r}; choose from {list(OBJECTIVES)}")
        check(self.k >= 1, f"k must be >= 1, got {self.k}")
        check(0 <= self.beta < float("inf"), f"beta must be >= 0 and finite, got {self.beta}")
        check(self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        check(self.lr_schedule in ("constant", "cosine", "exponential"),
              f"unknown lr_schedule {self.lr_schedule!r}; choose constant, cosine or exponential")
        check(0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay}")
        check(self.threads is None or self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        check(self.precision in PRECISIONS,
              f"unknown precision {self.precision!r}; choose from {sorted(PRECISIONS)}")
        check(isinstance(self.device, str) and self.device.strip() != "",
              f"device must be a name ({'auto | cpu | cuda | cuda:N | mps'}), got {self.device!r}")
        check(isinstance(self.compile, bool), f"compile must be true or false, got {self.compile!r}")
        check(self.keep_checkpoints >= 1,
              f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        check(self.nan_patience >= 1, f"nan_patience must be >= 1, got {self.nan_patience}")
        check(self.max_rollbacks >= 0, f"max_rollbacks must be >= 0, got {self.max_rollbacks}")
        check(self.eval_k >= 1, f"eval_k must be >= 1, got {self.eval_k}")
        check(self.eval_n is None or self.eval_n >= 1, f"eval_n must be >= 1, got {self.eval_n}")
        _kinds()[self.model.kind].check_training(self)
        return self

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("model", "data")}
        return {"model": self.model.to_dict(), "data": dataclasses.asdict(self.data), **d}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        model = _build(ModelConfig, d.pop("model", {}))
        data = _build(DataConfig, d.pop("data", {}))
        return _build(cls, d, model=model, data=data).validate()


def _build(cls, d: dict, **extra):
    check(isinstance(d, dict), f"{cls.__name__} must be a JSON object, got {type(d).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    check(not unknown, f"unknown {cls.__name__} fields: {sorted(unknown)}")
    return cls(**{k: tuples(v) for k, v in d.items()}, **extra)
