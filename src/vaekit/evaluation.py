"""Honest evaluation: importance-sampled log p(x), the ELBO and its terms, bits/dim, active units.

log p(x) ~= log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x), z_k ~ q(z|x) (Burda et al. 2015, K=5000),
with z drawn by `sample` (hard one-hot for discrete latents). Chunks of at most `max_rows`
decoder rows bound memory whatever K is; the log-sum-exp runs in float64. Two standard errors:
`se`, over the test examples, and `mc_se`, the Monte Carlo error of the estimate itself (delta
method on the importance weights: var(w) / (K E[w]^2) per example).
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass

import torch

from . import allocator, devices, distributed, progress
from .denormals import flushed
from .errors import VaekitError
from .latents.base import methods
from .objectives import elbo, log_weights


@dataclass
class LogLikelihood:
    per_example: torch.Tensor   # [N] float64, log p(x) estimates in nats
    mc_se: torch.Tensor         # [N] float64, Monte Carlo standard error of each estimate
    k: int

    @property
    def mean(self) -> float:
        return self.per_example.mean().item()

    @property
    def se(self) -> float:
        n = len(self.per_example)
        return (self.per_example.std().item() / math.sqrt(n)) if n > 1 else float("nan")

    @property
    def mean_mc_se(self) -> float:
        return (self.mc_se.pow(2).sum().sqrt() / len(self.mc_se)).item()


# Decoder rows per chunk on a CPU. Each chunk's activations should fit in the last-level cache
# and below glibc's 32 MB mmap threshold (allocator.py): on a 2-core EPYC with 32 MB of L3,
# K=5000 ran 2.3x faster with 8192 rows than with 32768 for the 784-pixel MLP (about 1,600
# floats of decoder outputs per row); the conv decoder (about 23,000 per row) took 105 s for
# 1000 images at K=1000 with 8192 rows and 79 s with 576 (2 threads, bench/eval_chunks.py). So a
# chunk holds at most MAX_FLOATS floats of decoder outputs, counted once per model from a
# one-row pass (`floats_per_row`). On a GPU the chunks are as large as a share of its free
# memory allows (`rows_for`).
MAX_ROWS = 8192
MAX_ELEMENTS = MAX_ROWS * 784   # of the likelihood's parameters, when max_rows is given
MAX_FLOATS = MAX_ROWS * 1600
GPU_MEMORY_SHARE = 0.25      # of the free memory, for one chunk's temporaries
GPU_MAX_ROWS = 1 << 20
BYTES_PER_ROW = 4 * 4096     # a guess at the activations of a decoder row besides its output
_FLOATS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def rows_for(model, max_rows: int | None = None) -> int:
    """Decoder rows per chunk: `max_rows`, else cache-sized on a CPU, a memory share on a GPU."""
    size = max(math.prod(model.event_shape), math.prod(model.likelihood.param_shape))
    free = devices.free_memory(devices.of(model))
    if max_rows is None and free is not None:
        per_row = 4 * 8 * size + BYTES_PER_ROW      # outputs, log-densities, data, gradients...
        return max(1, min(GPU_MAX_ROWS, int(free * GPU_MEMORY_SHARE) // per_row))
    if max_rows is None:
        return max(1, min(MAX_ROWS, MAX_FLOATS // floats_per_row(model)))
    return max(1, min(max_rows, MAX_ELEMENTS // size))


def floats_per_row(model) -> int:
    """The floats that the decoder's modules output for one row of p(x|z) (at least the
    likelihood's parameters), counted once per model with forward hooks; an activation that
    works in place counts as if it did not (the conv network: 22,736, the chunks measured)."""
    if model not in _FLOATS:
        counted = [math.prod(model.likelihood.param_shape)]

        def hook(module, inputs, output):
            if torch.is_tensor(output) and not list(module.children()):
                counted.append(output.numel())
        weight = next(model.parameters())           # z's values do not matter: no draw
        z = torch.zeros(1, model.latent.z_size, dtype=weight.dtype, device=weight.device)
        handles = [m.register_forward_hook(hook) for m in model.modules()]
        try:
            with torch.no_grad():
                model.observation(z)
        finally:
            for h in handles:
                h.remove()
        _FLOATS[model] = max(sum(counted[1:]), counted[0])
    return _FLOATS[model]


def check_data(model, x: torch.Tensor) -> None:
    """Refuse, with one clear line, data the model cannot give an honest number for."""
    shape = list(model.event_shape)
    if not torch.is_tensor(x) or not x.is_floating_point() or x.dim() != len(shape) + 1:
        raise VaekitError(f"data must be a float tensor [N, {', '.join(map(str, shape))}], got "
                          f"{getattr(x, 'dtype', type(x).__name__)} {list(getattr(x, 'shape', []))}")
    if len(x) == 0:
        raise VaekitError("data is empty")
    if list(x.shape[1:]) != shape:
        raise VaekitError(f"data has examples of shape {list(x.shape[1:])}, the model expects "
                          f"{shape}")
    if not torch.isfinite(x).all():
        raise VaekitError("data contains NaN or infinite values")
    model.likelihood.check(x)


def chunks(n: int, size: int):
    for i in range(0, n, size):
        yield slice(i, min(n, i + size))


@torch.no_grad()
def log_likelihood(model, x: torch.Tensor, k: int = 5000, max_rows: int | None = None,
                   proposal=None) -> LogLikelihood:
    """Importance-sampled log p(x) per example from q(z|x), or from `proposal(rows, x[rows])`."""
    check_data(model, x)
    max_rows = rows_for(model, max_rows)
    allocator.keep_freed_memory()
    with flushed():
        if proposal is None:
            both = distributed.map_rows(lambda xs: _log_likelihood(model, xs, k, max_rows), x)
        else:
            both = _log_likelihood(model, x, k, max_rows, proposal)
    both = both.cpu()
    return LogLikelihood(both[:, 0], both[:, 1], k)


def _log_likelihood(model, x, k, max_rows, proposal=None) -> torch.Tensor:
    """[N, 2] float64: the estimates and their Monte Carlo standard errors."""
    k_chunk = min(k, max_rows)
    batch = max(1, max_rows // k_chunk)
    prior, device = model.prior(), devices.of(model)
    # written in place: small tensors kept alive between the big temporaries of each chunk
    # fragment the heap, and resident memory crept up by ~1 MB per image without this
    out = torch.empty(len(x), 2, dtype=torch.float64, device=devices.accumulator(device))
    bar = progress.bar(total=len(x), desc=f"log p(x), K={k}", unit="ex")
    for rows in chunks(len(x), batch):
        xb = x[rows].to(device, non_blocking=True)
        q = model.posterior(xb) if proposal is None else proposal(rows, xb)
        lw = torch.cat([log_weights(xb, q, prior, model.observation, s.stop - s.start,
                                    reparameterized=False).to(out.device, torch.float64)
                        for s in chunks(k, k_chunk)])                    # [K, b]
        n = len(lw)             # k, or more where a discrete part is enumerated (stratified)
        log_mean_w = torch.logsumexp(lw, 0) - math.log(n)                  # [b]
        w_rel = torch.exp(lw - log_mean_w)                                 # w / mean(w), [K, b]
        var_rel = (w_rel - 1).pow(2).sum(0) / max(n - 1, 1)
        out[rows, 0] = log_mean_w
        out[rows, 1] = (var_rel / n).sqrt()
        bar.update(rows.stop - rows.start)
    bar.close()
    return out


@dataclass
class ELBOReport:
    elbo: float
    elbo_se: float
    rec_log_lik: float  # E_q[log p(x|z)] (reconstruction term), nats
    kl: float           # KL(q(z|x) || p(z)), nats
    kl_layers: list     # the KL per stochastic layer, z_1 first, nats


@torch.no_grad()
def elbo_report(model, x: torch.Tensor, batch_size: int = 1000) -> ELBOReport:
    """Mean one-sample ELBO and its two terms over x (each per-example value in nats)."""
    prior, device = model.prior(), devices.of(model)

    def values(xs):     # [n, 2 + L]: log p(x|z), KL, KL per layer
        parts = [elbo(xb, model.posterior(xb), prior, model.observation, reparameterized=False)
                 for xb in (xs[s].to(device) for s in chunks(len(xs), batch_size))]
        return torch.cat([torch.cat([p.log_lik.unsqueeze(1), p.kl.unsqueeze(1), p.kl_layers],
                                    1).cpu().double() for p in parts]) if parts \
            else torch.zeros(0, 3).double()

    table = distributed.map_rows(values, x)
    ll, kl, layers = table[:, 0], table[:, 1], table[:, 2:]
    e = ll - kl
    se = e.std().item() / math.sqrt(len(e)) if len(e) > 1 else float("nan")
    return ELBOReport(e.mean().item(), se, ll.mean().item(), kl.mean().item(),
                      layers.mean(0).tolist())


@torch.no_grad()
def active_units(model, x: torch.Tensor, threshold: float = 0.01,
                 batch_size: int = 1000) -> tuple[int, torch.Tensor]:
    """Units with Var_x(E_q[z_i|x]) > threshold (Burda et al.; of q's point, a flow's f(mu)):
    (count, variances [z_size]). Under a learned prior z's scale is free (the decoder undoes
    any rescaling), so the variances are relative to the prior's, Var_p(z_i)."""
    device = devices.of(model)
    means = torch.cat([methods(model.posterior(x[s].to(device))).point().cpu()
                       for s in chunks(len(x), batch_size)])
    variance = means.double().var(0)
    scale = model.latent_prior.unit_variance(model)
    if scale is not None:
        variance = variance / scale.cpu().double()
    return int((variance > threshold).sum()), variance


def active_per_layer(model, variance: torch.Tensor, threshold: float = 0.01) -> list[int]:
    """`active_units`' count within each stochastic layer or group, z_1 first."""
    return [int((v > threshold).sum()) for v in variance.split(model.latent.dims)]


@torch.no_grad()
def accuracy(model, x: torch.Tensor, labels, batch_size: int = 1000) -> tuple[float, float]:
    """A joint model's classifier, argmax_y q(y|x), against `labels`: (accuracy, its se)."""
    device = devices.of(model)
    guess = torch.cat([model.posterior(x[s].to(device)).classify().cpu()
                       for s in chunks(len(x), batch_size)])
    right = (guess == torch.as_tensor(labels).long()).double()
    return right.mean().item(), (right.std() / math.sqrt(len(right))).item()


def bits_per_dim(nll: float, dim: int, levels: int | None = None) -> float:
    """Nats per example -> bits/dim; with `levels` (dequantized) D log(levels) is added."""
    if levels:
        nll = nll + dim * math.log(levels)
    return nll / (dim * math.log(2))


def evaluate(model, x: torch.Tensor, k: int = 5000, n_loglik: int | None = None,
             levels: int | None = None, max_rows: int | None = None, labels=None) -> dict:
    """The ELBO and its terms, log p(x) on the first `n_loglik`, bits/dim and active units."""
    check_data(model, x)
    model.eval()
    report = elbo_report(model, x)
    xs = x if n_loglik is None else x[:n_loglik]
    ll = log_likelihood(model, xs, k, max_rows)
    au, variance = active_units(model, x)
    au_layers = active_per_layer(model, variance)
    dim = math.prod(model.event_shape)
    classified = {} if labels is None else dict(zip(("accuracy", "accuracy_se"),
                                                     accuracy(model, x, labels)))
    sampled = ({"kl_sampled": True} if model.latent.kl_sampled or model.config.prior.learned
               else {})
    by_level = per_resolution(model, report.kl_layers)
    resolutions = {} if by_level is None else {"kl_resolutions": by_level}
    return {**classified, **sampled, **resolutions,
        "n": len(x), "elbo": report.elbo, "elbo_se": report.elbo_se,
        "rec_log_lik": report.rec_log_lik, "kl": report.kl, "kl_layers": report.kl_layers,
        "elbo_bits_per_dim": bits_per_dim(-report.elbo, dim, levels),
        "log_px": ll.mean, "nll": -ll.mean, "nll_se": ll.se, "nll_mc_se": ll.mean_mc_se, "nll_k": k,
        "nll_n": len(xs), "nll_bits_per_dim": bits_per_dim(-ll.mean, dim, levels),
        "active_units": au, "active_units_layers": au_layers,
        "latent_dims": list(model.latent.dims), "latent_dim": model.latent.z_size,
        "bits_per_dim_of": bits_of(model, levels), "prior": model.latent_prior.describe(),
    }


# what each number of `evaluate` is: (unit, meaning)
MEANINGS = {
    "n": ("images", "test images scored for the ELBO terms"),
    "elbo": ("nats", "ELBO = E_q[log p(x|z)] - KL, mean per image (one sample of q)"),
    "elbo_se": ("nats", "its standard error over the images"),
    "rec_log_lik": ("nats", "E_q[log p(x|z)]: the reconstruction term (not log p(x))"),
    "kl": ("nats", "KL(q(z|x) || p(z)), mean per image"),
    "kl_layers": ("nats", "the KL per stochastic layer, z_1 first"),
    "kl_resolutions": ("nats", "the KL of the groups at each resolution, coarsest first"),
    "kl_sampled": ("", "the KL is one sample of log q(z) - log p(z), at the ELBO's draw: q (a "
                       "flow) or p (a learned mixture) has no closed form"),
    "elbo_bits_per_dim": ("bits/dim", "-ELBO in bits per dimension"),
    "log_px": ("nats", "log p(x) estimated by importance sampling (the K-sample IWAE bound), mean per image"),
    "nll": ("nats", "-log p(x): the negative log-likelihood"),
    "nll_se": ("nats", "its standard error over the images"),
    "nll_mc_se": ("nats", "Monte Carlo error of the K-sample estimate"),
    "nll_k": ("samples", "K: importance samples per image"),
    "nll_n": ("images", "images scored for log p(x)"),
    "nll_bits_per_dim": ("bits/dim", "-log p(x) in bits per dimension"),
    "active_units": ("units", "latent units with Var_x E_q[z_i] > 0.01 (x Var_p(z_i) under "
                              "a learned prior; a flow: of f(mu))"),
    "active_units_layers": ("units", "active units per layer"),
    "latent_dims": ("units", "latent units per layer"),
    "latent_dim": ("units", "latent units"),
    "prior": ("", "p(z), and how the KL to it is computed"),
    "accuracy": ("fraction", "test accuracy of the classifier argmax_y q(y|x) (M2)"),
    "accuracy_se": ("fraction", "its standard error over the images"),
}


def per_resolution(model, values: list[float]) -> dict | None:
    """Per-layer figures (KL, active units) summed over the layers at each resolution, coarsest
    first ({"1x1": ..., "7x7": ...}); None where the latent family has no resolutions."""
    levels = model.latent.layer_levels()
    if levels is None:
        return None
    out = {}
    for level, value in zip(levels, values):
        out[level] = out.get(level, 0) + value
    return out


def format_result(result: dict) -> str:
    """One line per number: name, value, unit and what it is."""
    lines = []
    for key, value in result.items():
        unit, meaning = MEANINGS.get(key, ("", ""))
        shown = (f"{value:.4f}" if isinstance(value, float) else
                 ", ".join(f"{k} {v:.3f}" for k, v in value.items()) if isinstance(value, dict)
                 else
                 ", ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in value)
                 if isinstance(value, list) else str(value))
        lines.append(f"{key:18s} {shown:>12s}  {unit:9s} {meaning}".rstrip())
    return "\n".join(lines)


def bits_of(model, levels: int | None) -> str:
    """What kind of bits/dim a model's numbers are."""
    discrete = model.likelihood.levels
    if discrete:
        return (f"the discrete levels ({discrete} per value), scored by a discrete likelihood: "
                "log p(x) is a probability")
    if levels:
        return "the discrete levels (dequantized density + log(levels) per dimension)"
    return "the data as scored (binarized, or continuous: a density, no discrete meaning)"
