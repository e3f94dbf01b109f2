"""A deep top-down hierarchy of Gaussian latent groups over images (Child 2021, "Very deep VAEs";
Vahdat & Kautz 2020, NVAE; Sonderby et al. 2016's ladder, taken to many groups).

A top-down state h [N, W, h_r, w_r] starts as a learned bias at 1x1 and goes down the
resolutions r (coarsest first, networks/blocks.py: from 1x1 to the next by a learned linear
map with --top dense, blocks.Spread, else repeated; below, repeated), plus a learned bias at
each; at each resolution it meets that level's
latent groups, each followed by a residual block:
    p(z_i | z_<i)    = N(mu_p(h), sigma_p(h)^2)         from the state alone
    q(z_i | x, z_<i) = N(mu_q(h, a_r), sigma_q(h, a_r)^2) from the state and the bottom-up
                       encoder's activation a_r at that resolution (VDVAE's q)
    h <- block(h + f(h) + proj(z_i))                     f: a feature from the prior's head
and the state after the last block is the input of the output head, p(x | z) = p(x | h_final).
z is every group z_i [c, h_r, w_r] flattened and concatenated, coarsest first: [..., Z].

Where it sits among the axes. The top-down path is at once the prior p(z) (every p(z_i|z_<i)
reads it), the decoder (its last state is what p(x|z) reads) and half of q (q(z_i|x, z_<i)
reads it too); it cannot be split between a latent family and a network the way a one-layer
VAE's can. So it is a latent family, as the two-layer ladder (hierarchical.py) is: the family
owns the path, its posterior q and prior p are Distribution objects over the concatenated z
with rsample / log_prob / per-group KL, and the objectives, the evaluation and the training
loop consume them unchanged. What stays an axis:
- network (`--network topdown`, networks/topdown.py): the bottom-up encoder that keeps its
  activation at every resolution (the amortized encoder: its output, [B, W * sum h_r w_r], is
  the "posterior parameters" the family reads) and the output head [N, W*H*W] -> the
  likelihood's parameters. The family requires it (or your own modules of those shapes);
- likelihood: any (Bernoulli, discretized logistic mixture, discretized Gaussian, ...): the
  head outputs the likelihood's parameter shape;
- inference: amortized only (refused otherwise): a semi-amortized or variational-EM scheme
  would optimize a free code of W * sum h_r w_r activations, not q's parameters.
The KL per group is closed form given z_<i, KL(q(z_i|x, z_<i) || p(z_i|z_<i)), at the ELBO's
draw of z_<i; its sum over the groups is a one-sample estimate of the joint KL. `kl_layers`
gives the groups, so train/valid/test `kl_layers` and free bits (one floor per group) follow.

The last pass over the path is remembered for the z it produced: the ELBO's draw, its KL and
p(x|z) at that draw cost one top-down pass, not three (`_Memo`).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Distribution, Independent, Normal, kl_divergence

from ..errors import VaekitError
from ..networks.blocks import TOPS, Bottleneck, Spread, image_levels, middle, residual_scale, resize
from ..registry import Spec, check
from ..settings import setting
from .base import LatentFamily, OverVectors, Posterior
from .gaussian import MIN_SCALE

# softplus(pre + SOFTPLUS_ONE) = 1 at pre = 0: a zero-initialized prior head starts at N(0, I)
SOFTPLUS_ONE = math.log(math.e - 1)


def group_gaussian(params: torch.Tensor, temperature: float = 1.0) -> Independent:
    """[N, 2c, h, w] (loc, pre-softplus scale) -> N(loc, scale^2) over [c, h, w]. In float32 at
    least: under bfloat16 autocast the KLs would lose their small differences."""
    params = params.to(torch.promote_types(params.dtype, torch.float32))
    loc, pre = params.chunk(2, dim=1)
    scale = (F.softplus(pre + SOFTPLUS_ONE) + MIN_SCALE) * temperature
    return Independent(Normal(loc, scale, validate_args=False), 3, validate_args=False)


class Group(nn.Module):
    """One latent group z_i [N, c, h, w] between residual blocks, on a state of width W."""

    def __init__(self, width: int, channels: int, block_scale: float, z_scale: float):
        super().__init__()
        self.channels = channels
        mid = middle(width)
        # p's head starts at zero: p(z_i | z_<i) = N(0, I) and no feature, so at initialization
        # the prior is the standard one and the KL is q's alone (VDVAE zeroes it too)
        self.prior_head = Bottleneck(width, mid, 2 * channels + width, out_scale=0.0)
        self.posterior_head = Bottleneck(2 * width, mid, 2 * channels)
        self.project = nn.Conv2d(channels, width, 1)
        self.block = Bottleneck(width, mid, width, residual=True, out_scale=block_scale)
        with torch.no_grad():   # each group adds its z to the stream: O(1) in total (blocks.py)
            self.project.weight.mul_(z_scale)

    def prior(self, h: torch.Tensor, temperature: float = 1.0) -> tuple[Independent, torch.Tensor]:
        """p(z_i | z_<i) from the state [N, W, h, w], and a feature [N, W, h, w] for it."""
        params, feature = self.prior_head(h).split([2 * self.channels, h.shape[1]], dim=1)
        return group_gaussian(params, temperature), feature

    def posterior(self, h: torch.Tensor, a: torch.Tensor) -> Independent:
        """q(z_i | x, z_<i) from the state and the encoder's activation a [N, W, h, w]."""
        return group_gaussian(self.posterior_head(torch.cat([h, a], dim=1)))

    def merge(self, h: torch.Tensor, feature: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The state after z_i: block(h + feature + proj(z_i)), [N, W, h, w]."""
        return self.block(h + feature + self.project(z.to(h.dtype)))


class Pass(NamedTuple):
    """One pass down the path for N rows."""
    z: list[torch.Tensor]           # each group's z_i [N, c, h_i, w_i]
    p: list[Independent]            # p(z_i | z_<i)
    q: list[Independent] | None     # q(z_i | x, z_<i), when the encoder's activations were given
    state: torch.Tensor             # [N, W, H, W]: the top-down state after the last block
    temperature: float              # of p's scales


class _Memo:
    """The last pass and the z it produced, for the calls with that same tensor that follow it
    (its KL, log q, log p, p(x|z)): a weak reference, so that it never keeps z alive, and only
    in the autograd mode it was made in (a draw without gradient must not serve a loss). The
    pass's q parts are only for the posterior that drew it (`owner`)."""

    def __init__(self):
        self.ref = self.owner = None
        self.grad, self.run = False, None

    def put(self, z: torch.Tensor, run: Pass, owner=None) -> None:
        self.ref, self.run, self.grad = weakref.ref(z), run, torch.is_grad_enabled()
        self.owner = None if owner is None else weakref.ref(owner)

    def get(self, z: torch.Tensor, owner=None) -> Pass | None:
        if self.ref is None or self.ref() is not z or self.grad != torch.is_grad_enabled():
            return None
        if owner is not None and (self.owner is None or self.owner() is not owner):
            return None
        return self.run

    def __deepcopy__(self, memo) -> "_Memo":
        return _Memo()


class TopDownLatent(LatentFamily):
    point_name = "z_i = E_q[z_i | x, z_<i], group by group"
    tempered = True

    def __init__(self, event_shape: tuple[int, ...], width: int, channels: int,
                 groups: tuple[int, ...], stride: int = 1, top: str = "dense"):
        super().__init__()
        _, finest_first = image_levels(event_shape, "--latent topdown", stride)
        self.levels = finest_first[::-1]                   # coarsest (1x1) first
        counts = groups * len(self.levels) if len(groups) == 1 else groups
        self.level_of = [r for r, n in enumerate(counts) for _ in range(n)]   # each group's
        n = len(self.level_of)
        self.groups = nn.ModuleList(Group(width, channels, residual_scale(n), residual_scale(n))
                                    for _ in range(n))
        # a learned input at each resolution: the start at 1x1, position below
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(width, h, w)) for h, w in self.levels)
        # the state at 1x1 spread over the next level by a learned map (blocks.Spread), or repeated
        self.spread = Spread(width, self.levels[1]) if top == "dense" and len(self.levels) > 1 \
            else None
        self.shapes = [(channels, *self.levels[r]) for r in self.level_of]
        self.dims = tuple(math.prod(s) for s in self.shapes)
        self.z_size = sum(self.dims)
        self.width = width
        self.param_size = width * sum(h * w for h, w in self.levels)
        self.decoder_size = width * math.prod(self.levels[-1])
        self._memo = _Memo()

    def layer_levels(self) -> list[str]:
        """Each group's resolution, coarsest first: ["1x1", "7x7", "7x7", ...]."""
        return [f"{h}x{w}" for h, w in (self.levels[r] for r in self.level_of)]

    def activations(self, params: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's output [B, param_size] -> a_r [B, W, h_r, w_r], coarsest first."""
        sizes = [self.width * h * w for h, w in self.levels]
        return [a.reshape(-1, self.width, h, w)
                for a, (h, w) in zip(params.split(sizes, dim=-1), self.levels)]

    def split(self, z: torch.Tensor) -> list[torch.Tensor]:
        """z [..., Z] -> each group's [N, c, h, w], N = the product of the leading dims."""
        flat = z.reshape(-1, self.z_size)
        return [part.reshape(-1, *shape) for part, shape in zip(flat.split(self.dims, 1),
                                                                   self.shapes)]

    def join(self, zs: list[torch.Tensor], lead: tuple[int, ...]) -> torch.Tensor:
        """The inverse of `split`: [*lead, Z]."""
        return torch.cat([z.flatten(1) for z in zs], 1).reshape(*lead, self.z_size)

    def descend(self, n: int, acts: list[torch.Tensor] | None = None,
                given: list[torch.Tensor] | None = None,
                draw: Callable[[Distribution], torch.Tensor] | None = None,
                temperature: float = 1.0) -> Pass:
        """The pass for n rows: each z_i the `given` one, else `draw`(q_i) with the encoder's
        activations `acts` (each [n, W, h_r, w_r]), else `draw`(p_i)."""
        zs, ps, qs, h = [], [], [] if acts is not None else None, None
        for r, (size, bias) in enumerate(zip(self.levels, self.bias)):
            if h is None:
                h = bias.expand(n, *bias.shape)
            else:
                h = (self.spread(h) if r == 1 and self.spread is not None else resize(h, size)) + bias
            for i in (i for i, level in enumerate(self.level_of) if level == r):
                group = self.groups[i]
                p, feature = group.prior(h, temperature)
                q = group.posterior(h, acts[r]) if acts is not None else None
                z = given[i] if given is not None else draw(q if q is not None else p)
                zs.append(z)
                ps.append(p)
                if qs is not None:
                    qs.append(q)
                h = group.merge(h, feature, z)
        return Pass(zs, ps, qs, h, temperature)

    def state(self, z: torch.Tensor) -> Pass:
        """The pass that produced z [..., Z], remembered or run again with z given."""
        run = self._memo.get(z)
        return run if run is not None else self.descend(z[..., 0].numel(), given=self.split(z))

    def prior(self, temperature: float = 1.0) -> "TopDownPrior":
        """p(z); `temperature` T multiplies every group's scale (samples at T < 1 are smoother)."""
        return TopDownPrior(self, temperature)

    def posterior(self, params: torch.Tensor) -> "TopDownPosterior":
        return TopDownPosterior(self, params)

    def decoder_input(self, z: torch.Tensor) -> torch.Tensor:
        """z [..., Z] -> the final top-down state [..., W*H*W], what the output head reads."""
        return self.state(z).state.flatten(1).reshape(*z.shape[:-1], self.decoder_size)


class TopDownPrior(OverVectors, Distribution):
    """p(z) = prod_i p(z_i | z_<i) over the concatenated z [..., Z]; batch_shape []."""
    has_rsample = True

    def __init__(self, latent: TopDownLatent, temperature: float = 1.0):
        self.latent, self.temperature = latent, temperature
        super().__init__(torch.Size(), torch.Size([latent.z_size]), validate_args=False)

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        run = self.latent.descend(shape.numel(), draw=lambda d: d.rsample(),
                                  temperature=self.temperature)
        z = self.latent.join(run.z, shape)
        self.latent._memo.put(z, run)
        return z

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """sum_i log p(z_i | z_<i) at z [..., Z]: [...]."""
        run = self.latent._memo.get(z)
        if run is None or run.temperature != self.temperature:
            run = self.latent.descend(z[..., 0].numel(), given=self.latent.split(z),
                                      temperature=self.temperature)
        return sum(p.log_prob(zi) for p, zi in zip(run.p, run.z)).reshape(z.shape[:-1])


class TopDownPosterior(OverVectors, Posterior):
    """q(z|x) = prod_i q(z_i | x, z_<i) over the concatenated z; batch_shape [B]."""
    has_rsample = True

    def __init__(self, latent: TopDownLatent, params: torch.Tensor):
        self.latent = latent
        self.acts = latent.activations(params)          # a_r [B, W, h_r, w_r], coarsest first
        super().__init__(params.shape[:-1], torch.Size([latent.z_size]), validate_args=False)

    def _acts(self, lead: torch.Size) -> list[torch.Tensor]:
        """The activations repeated for sample dims `lead`: [prod(lead) B, W, h, w] each."""
        return [a.expand(*lead, *a.shape).reshape(-1, *a.shape[1:]) for a in self.acts]

    def _pass(self, sample_shape, draw) -> torch.Tensor:
        shape = torch.Size(sample_shape)
        run = self.latent.descend(shape.numel() * self.batch_shape.numel(), self._acts(shape),
                                  draw=draw)
        z = self.latent.join(run.z, shape + self.batch_shape)
        self.latent._memo.put(z, run, owner=self)
        return z

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self._pass(sample_shape, lambda d: d.rsample())

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        with torch.no_grad():
            return self._pass(sample_shape, lambda d: d.sample())

    def point(self) -> torch.Tensor:
        """Each group at q's mean given the groups above at theirs: [B, Z]."""
        return self._pass((), lambda d: d.mean)

    def _given(self, z: torch.Tensor) -> Pass:
        """The pass at z [..., B, Z] with q's parts: remembered, or run with z given."""
        run = self.latent._memo.get(z, owner=self)
        if run is not None:
            return run
        lead = z.shape[:-1 - len(self.batch_shape)]
        return self.latent.descend(z[..., 0].numel(), self._acts(lead), self.latent.split(z))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """sum_i log q(z_i | x, z_<i) at z [..., B, Z]: [..., B]."""
        run = self._given(z)
        return sum(q.log_prob(zi) for q, zi in zip(run.q, run.z)).reshape(z.shape[:-1])

    def kl_layers(self, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
        """KL(q(z_i | x, z_<i) || p(z_i | z_<i)) of each group at z's z_<i (a fresh draw when
        None): [..., B, G], coarsest first."""
        if not isinstance(prior, TopDownPrior) or prior.latent is not self.latent:
            raise VaekitError("a topdown posterior's KL is to its own family's prior")
        z = self.rsample() if z is None else z
        run = self._given(z)
        kls = torch.stack([kl_divergence(q, p) for q, p in zip(run.q, run.p)], dim=-1)
        return kls.reshape(*z.shape[:-1], len(run.q))


@dataclass
class TopDown(Spec):
    """A deep top-down hierarchy of Gaussian groups over images (VDVAE); --network topdown."""
    name = "topdown"
    iwae = True
    dreg = False     # q's parameters come from the top-down path too, not the encoder's alone
    # width, channels and stride: the design measured best at equal time on 28x28 (README,
    # issue 26; its groups were 2,4)
    width: int = setting(48, "channels of the top-down state and of the encoder's activations "
                             "at every resolution", metavar="W")
    latent_channels: int = setting(8, "channels of each latent group z_i [c, h, w]",
                                   metavar="C")
    groups: tuple[int, ...] = setting(
        (2,), "latent groups at each resolution, coarsest (1x1) first, e.g. 2,4 for 28x28 "
        "behind --stem-stride 4 (1x1, 7x7); one number: that many at each",
        metavar="G1,G2,...")
    stem_stride: int = setting(
        4, "the encoder's stem and the output head change the resolution by S (NVAE's pre- and "
        "post-processing): the groups sit at the image's size / S and below, S^2 times fewer "
        "positions at the finest (4: 28x28 -> 7, 1; 32x32 -> 8, 4, 1; 1: every resolution)",
        metavar="S")
    top: str = setting(
        "dense", "how the 1x1 level meets the one below it, in the encoder and the top-down "
        "path: dense (a learned linear map each way, as the conv VAE's linear layers) or pooled "
        "(averaged up, repeated down, as VDVAE)", choices=TOPS)

    @property
    def network(self) -> dict:
        """Its network when none is chosen (the default mlp is replaced)."""
        return {"name": "topdown", "stem_stride": self.stem_stride, "top": self.top}

    def validate(self) -> "TopDown":
        check(isinstance(self.width, int) and self.width >= 1,
              f"width must be an integer >= 1, got {self.width!r}")
        check(isinstance(self.latent_channels, int) and self.latent_channels >= 1,
              f"latent_channels must be an integer >= 1, got {self.latent_channels!r}")
        check(len(self.groups) >= 1 and all(g >= 0 for g in self.groups) and sum(self.groups),
              f"groups must be counts >= 0 per resolution, one at least, got {list(self.groups)}")
        check(isinstance(self.stem_stride, int) and self.stem_stride >= 1
              and self.stem_stride & (self.stem_stride - 1) == 0,
              f"stem_stride must be 1, 2, 4, ... (a power of two), got {self.stem_stride!r}")
        check(self.top in TOPS, f"top must be one of {list(TOPS)}, got {self.top!r}")
        return self

    def check_model(self, config) -> None:
        check(config.network.name in ("topdown", "custom"),
              "--latent topdown reads its encoder's activations at every resolution: drop "
              f"--network {config.network.name} (its own is topdown), or give your own "
              "Networks of its shapes")
        stride = getattr(config.network, "stem_stride", self.stem_stride)
        check(stride == self.stem_stride,
              f"the topdown latent's stem_stride ({self.stem_stride}) and its network's "
              f"({stride}) differ: give one --stem-stride")
        top = getattr(config.network, "top", self.top)
        check(top == self.top, f"the topdown latent's top ({self.top}) and its network's ({top}) "
                               "differ: give one --top")
        check(config.inference.name == "amortized",
              f"--latent topdown trains with amortized inference only (got --inference "
              f"{config.inference.name}): its q reads the encoder's activations, not free "
              "parameters")

    def build_for(self, event_shape: tuple[int, ...]) -> TopDownLatent:
        _, levels = image_levels(event_shape, "--latent topdown", self.stem_stride)
        check(len(self.groups) in (1, len(levels)),
              f"--groups gives {len(self.groups)} counts; images {list(event_shape)} have "
              f"{len(levels)} resolutions ({', '.join(f'{h}x{w}' for h, w in levels[::-1])})"
              + (f" behind --stem-stride {self.stem_stride}" if self.stem_stride > 1 else ""))
        return TopDownLatent(tuple(event_shape), self.width, self.latent_channels, self.groups,
                             self.stem_stride, self.top)

    def build(self) -> TopDownLatent:
        raise VaekitError("--latent topdown is built for an image shape: "
                          "vaekit.build_model(config, (C, H, W))")
