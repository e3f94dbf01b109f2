"""Configuration dataclasses, validated in one place.

A run is described by a `TrainConfig`, which holds a `ModelConfig` (the three axes: latent
family, likelihood and networks) and a `DataConfig`. Each round-trips through JSON, which is
how checkpoints store them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields

from .errors import VaekitError
from .networks import ACTIVATIONS


@dataclass
class ModelConfig:
    x_dim: int = 784                      # flattened data dimension D
    image_shape: tuple[int, ...] | None = (28, 28)   # for pictures; None for non-image data
    model_type: str = "vae"               # vae | ae (plain autoencoder) | gan: see baselines.py
    latent: str = "gaussian"              # latent family: prior p(z) and posterior family q(z|x)
    latent_dim: int = 50                  # z (for a hierarchy: z_1, the layer next to x)
    likelihood: str = "bernoulli"         # p(x|z): bernoulli | gaussian
    min_std: float = 1e-3                 # gaussian likelihood: floor on sigma (data units)
    gaussian_variance: str = "decoder"    # gaussian likelihood: decoder | pixel | shared
    encoder_hidden: tuple[int, ...] = (200, 200)
    decoder_hidden: tuple[int, ...] = (200, 200)
    activation: str = "tanh"
    # hierarchical latents only: layers z_2..z_L above z_1, each with its networks
    upper_dims: tuple[int, ...] = ()
    q_upper_hidden: tuple[tuple[int, ...], ...] = ()   # q(z_{l+1} | z_l), l = 1..L-1
    p_upper_hidden: tuple[tuple[int, ...], ...] = ()   # p(z_l | z_{l+1}), l = 1..L-1
    decoder_sees: str = "z1"              # z1 | all: p(x | z_1) or p(x | z_1, ..., z_L)
    posterior_path: str = "bottom-up"     # bottom-up | top-down (ladder)
    # inference scheme: how q(z|x) is found (see inference.py)
    inference: str = "amortized"          # amortized | vem (no encoder) | semi
    refine_steps: int = 5                 # semi: gradient steps from the encoder's output
    local_lr: float = 0.02                # semi and vem: Adam step size on q's parameters
    estep_max_iter: int = 300             # vem: iteration cap of an E-step
    estep_tol: float = 1e-3               # vem: relative ELBO rise per window that counts
    # categorical latents only (Gumbel-softmax)
    categorical_vars: int = 20            # N categorical variables ...
    categorical_classes: int = 10         # ... of K classes each
    straight_through: bool = False        # hard one-hot forward, relaxed gradient backward
    tau: float = 1.0                      # initial temperature tau_0
    tau_min: float = 0.5
    anneal_rate: float = 3e-5             # tau = max(tau_min, tau_0 exp(-rate * step))
    anneal_every: int = 500               # steps between temperature updates

    @classmethod
    def two_layer(cls, **overrides) -> "ModelConfig":
        """Burda et al.'s two-layer model: latents [100, 50]; q hidden [[200, 200], [100, 100]];
        p hidden [[100, 100], [200, 200]]; tanh."""
        base = dict(latent="hierarchical", latent_dim=100, upper_dims=(50,),
                    encoder_hidden=(200, 200), q_upper_hidden=((100, 100),),
                    p_upper_hidden=((100, 100),), decoder_hidden=(200, 200))
        return cls(**{**base, **overrides})

    def validate(self) -> "ModelConfig":
        from .latents import LATENTS
        from .likelihoods import LIKELIHOODS
        _check(self.x_dim >= 1, f"x_dim must be >= 1, got {self.x_dim}")
        _check(self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}")
        _check(self.latent in LATENTS,
               f"unknown latent family {self.latent!r}; choose from {sorted(LATENTS)}")
        _check(self.likelihood in LIKELIHOODS,
               f"unknown likelihood {self.likelihood!r}; choose from {sorted(LIKELIHOODS)}")
        _check(self.activation in ACTIVATIONS,
               f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}")
        _check(self.min_std > 0, f"min_std must be > 0, got {self.min_std}")
        _check(self.gaussian_variance in ("decoder", "pixel", "shared"),
               f"gaussian_variance must be decoder, pixel or shared, got {self.gaussian_variance!r}")
        _check(self.model_type in ("vae", "ae", "gan"),
               f"unknown model type {self.model_type!r}; choose vae, ae or gan")
        _check(self.model_type == "vae" or self.latent == "gaussian",
               "autoencoder and GAN baselines use a plain latent vector (--latent gaussian)")
        _check(self.inference in ("amortized", "vem", "semi"),
               f"unknown inference {self.inference!r}; choose amortized, vem or semi")
        _check(self.refine_steps >= 1, f"refine_steps must be >= 1, got {self.refine_steps}")
        _check(self.local_lr > 0, f"local_lr must be > 0, got {self.local_lr}")
        _check(self.estep_max_iter >= 1, f"estep_max_iter must be >= 1, got {self.estep_max_iter}")
        _check(self.estep_tol >= 0, f"estep_tol must be >= 0, got {self.estep_tol}")
        hidden = self.encoder_hidden + self.decoder_hidden + sum(
            self.q_upper_hidden + self.p_upper_hidden, ())
        _check(all(h >= 1 for h in hidden), "hidden layer sizes must be >= 1")
        _check(all(d >= 1 for d in self.upper_dims), "latent layer sizes must be >= 1")
        _check(self.decoder_sees in ("z1", "all"),
               f"decoder_sees must be z1 or all, got {self.decoder_sees!r}")
        _check(self.posterior_path in ("bottom-up", "top-down"),
               f"posterior_path must be bottom-up or top-down, got {self.posterior_path!r}")
        _check(self.categorical_vars >= 1 and self.categorical_classes >= 2,
               "categorical latents need >= 1 variable of >= 2 classes")
        _check(0 < self.tau_min <= self.tau, f"need 0 < tau_min <= tau, got {self.tau_min}, {self.tau}")
        _check(self.anneal_rate >= 0 and self.anneal_every >= 1,
               "anneal_rate must be >= 0 and anneal_every >= 1")
        if self.latent == "hierarchical":
            n = len(self.upper_dims)
            _check(len(self.q_upper_hidden) == n and len(self.p_upper_hidden) == n,
                   f"{n} upper latent layers need {n} q_upper_hidden and p_upper_hidden entries")
        else:
            _check(not self.upper_dims, f"latent family {self.latent!r} has one layer; "
                   "upper_dims is for --latent hierarchical")
        if self.image_shape is not None:
            n = 1
            for s in self.image_shape:
                n *= s
            _check(n == self.x_dim, f"image_shape {self.image_shape} does not hold x_dim={self.x_dim}")
        return self


@dataclass
class DataConfig:
    dataset: str = "digits"               # a name (digits, fashion-mnist, mnist) or a .npy/.npz path
    preprocess: str = "auto"              # binarize | dequantize | none; auto follows the likelihood
    valid_fraction: float = 0.1           # of the training split, held out for validation
    seed: int = 0                         # for the split and the fixed evaluation binarization

    def validate(self) -> "DataConfig":
        _check(self.preprocess in ("auto", "binarize", "dequantize", "none"),
               f"unknown preprocess {self.preprocess!r}; choose binarize, dequantize, none or auto")
        _check(0.0 <= self.valid_fraction < 1.0,
               f"valid_fraction must be in [0, 1), got {self.valid_fraction}")
        return self

    def resolved_preprocess(self, likelihood: str) -> str:
        if self.preprocess != "auto":
            return self.preprocess
        return "binarize" if likelihood == "bernoulli" else "dequantize"


PRECISIONS = ("float32", "bfloat16")


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    objective: str = "elbo"               # elbo | iwae
    k: int = 1                            # importance samples for the iwae objective
    beta: float = 1.0                     # weight of the KL term (beta-VAE)
    warmup_epochs: float = 0.0            # linear KL warm-up from 0 to beta over this many epochs
    mstep_steps: int = 1                  # vem: optimizer steps on theta per E-step
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"         # constant | cosine | exponential
    lr_decay: float = 0.99                # per-epoch factor for the exponential schedule
    min_lr: float = 1e-5                  # floor of the cosine schedule
    seed: int = 0
    threads: int | None = None            # torch intra-op threads; None keeps torch's default
    precision: str = "float32"            # float32 | bfloat16 (matrix products; see training.py)
    keep_checkpoints: int = 3             # training checkpoints kept (one per epoch, newest)
    nan_patience: int = 10                # consecutive non-finite steps before a rollback
    max_rollbacks: int = 3                # rollbacks (each halving lr) before giving up
    eval_k: int = 5000                    # importance samples for the final test log p(x)
    eval_n: int | None = 1000             # test examples for the final log p(x); None = all

    def validate(self) -> "TrainConfig":
        self.model.validate()
        self.data.validate()
        _check(self.objective in ("elbo", "iwae"),
               f"unknown objective {self.objective!r}; choose elbo or iwae")
        _check(self.k >= 1, f"k must be >= 1, got {self.k}")
        _check(not (self.objective == "iwae" and self.model.latent == "categorical"),
               "the iwae objective is not available for categorical latents (its weights would "
               "need the relaxed densities); train with elbo, evaluate log p(x) as usual")
        _check(self.beta >= 0, f"beta must be >= 0, got {self.beta}")
        _check(self.warmup_epochs >= 0, f"warmup_epochs must be >= 0, got {self.warmup_epochs}")
        _check(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        _check(self.mstep_steps >= 1, f"mstep_steps must be >= 1, got {self.mstep_steps}")
        _check(self.mstep_steps == 1 or self.model.inference == "vem",
               "mstep_steps is for variational EM (--inference vem)")
        _check(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        _check(self.lr > 0, f"lr must be > 0, got {self.lr}")
        _check(self.lr_schedule in ("constant", "cosine", "exponential"),
               f"unknown lr_schedule {self.lr_schedule!r}; choose constant, cosine or exponential")
        _check(0 < self.lr_decay <= 1, f"lr_decay must be in (0, 1], got {self.lr_decay}")
        _check(self.threads is None or self.threads >= 1, f"threads must be >= 1, got {self.threads}")
        _check(self.precision in PRECISIONS,
               f"unknown precision {self.precision!r}; choose from {sorted(PRECISIONS)}")
        _check(self.keep_checkpoints >= 1,
               f"keep_checkpoints must be >= 1, got {self.keep_checkpoints}")
        _check(self.nan_patience >= 1, f"nan_patience must be >= 1, got {self.nan_patience}")
        _check(self.max_rollbacks >= 0, f"max_rollbacks must be >= 0, got {self.max_rollbacks}")
        _check(self.eval_k >= 1, f"eval_k must be >= 1, got {self.eval_k}")
        _check(self.eval_n is None or self.eval_n >= 1, f"eval_n must be >= 1, got {self.eval_n}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        model = _build(ModelConfig, d.pop("model", {}))
        data = _build(DataConfig, d.pop("data", {}))
        return _build(cls, d, model=model, data=data).validate()


def _build(cls, d: dict, **extra):
    known = {f.name: f for f in fields(cls)}
    unknown = set(d) - set(known)
    _check(not unknown, f"unknown {cls.__name__} fields: {sorted(unknown)}")
    kwargs = {k: _tuples(v) for k, v in d.items()}
    return cls(**kwargs, **extra)


def _tuples(v):
    """JSON lists back to the (nested) tuples the dataclasses hold."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise VaekitError(message)
