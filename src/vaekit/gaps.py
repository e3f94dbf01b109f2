"""How far each q is from the true posterior, in nats (Cremer, Li & Duvenaud 2018).

    log p(x) - L[q_phi] = (log p(x) - L[q*])  +  (L[q*] - L[q_phi])
                           approximation gap      amortization gap
where q_phi is the encoder's q, q* the family's best q for this x (inference.optimize, from
the semi-amortized q), and L the ELBO. log p(x) is importance sampled from the equal mixture
of q_phi and q* (a defensive proposal); gaps are paired per-example differences.
"""

from __future__ import annotations

import math

import torch

from . import devices, progress
from .evaluation import chunks, log_likelihood, rows_for
from .inference import LocalOptimizer, optimize, refine
from .latents.mixture import EqualMixture
from .objectives import elbo


def _summary(values: torch.Tensor) -> dict:
    values = values.double()
    se = values.std().item() / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return {"mean": values.mean().item(), "se": se}


@torch.no_grad()
def elbo_per_example(model, x: torch.Tensor, params: torch.Tensor, samples: int = 100,
                     max_rows: int | None = None) -> torch.Tensor:
    """ELBO at q = latent.posterior(params), averaged over `samples` draws of q: [N]."""
    batch = max(1, rows_for(model, max_rows) // samples)
    out = [elbo(x[r], model.latent.posterior(params[r]), model.prior(), model.observation,
                n=samples, reparameterized=False).elbo for r in chunks(len(x), batch)]
    return torch.cat(out).cpu()


def gap_report(model, x: torch.Tensor, k: int = 5000, elbo_samples: int = 100,
               refine_steps: int | None = None, settings: LocalOptimizer | None = None,
               batch_size: int = 500, max_rows: int | None = None) -> dict:
    """The gap table on x [N, *event]: mean and se of log p(x), each ELBO and each gap."""
    model.eval()
    x = x.to(devices.of(model))
    settings = settings or LocalOptimizer.for_model(model)
    steps = refine_steps or getattr(model.inference, "refine_steps", 5)
    amortized, semi, best, iterations, converged = [], [], [], 0, 0
    parts = list(chunks(len(x), batch_size))
    # at most max_iter E-step iterations per chunk: the time left is an upper bound
    bar = progress.bar(total=len(parts) * settings.max_iter, desc="E-steps (at most)")
    for i, rows in enumerate(parts, 1):
        xb = x[rows]
        if model.encoder is not None:
            with torch.no_grad():
                amortized.append(model.encode(xb))
            semi.append(refine(model, xb, amortized[-1], steps, settings.lr))
            start = semi[-1]
        else:
            start = xb.new_zeros(len(xb), model.latent.param_size)
        fitted = optimize(model, xb, start, settings, bar)
        bar.update(i * settings.max_iter - bar.n)      # an early stop skips the rest of the cap
        best.append(fitted.params)
        iterations = max(iterations, fitted.iterations)
        converged += len(xb) if fitted.converged else 0
    bar.close()
    schemes = {"optimized": torch.cat(best)}
    if amortized:
        schemes.update(semi=torch.cat(semi), amortized=torch.cat(amortized))
    values = {name: elbo_per_example(model, x, p, elbo_samples, max_rows)
              for name, p in schemes.items()}

    def proposal(rows, xb):
        return EqualMixture([model.latent.posterior(p[rows]) for name, p in schemes.items()
                             if name in ("optimized", "amortized")])

    ll = log_likelihood(model, x, k, max_rows, proposal=proposal)
    log_px = ll.per_example
    table = {"log_px": _summary(log_px) | {"mc_se": ll.mean_mc_se},
             **{f"elbo_{name}": _summary(v) for name, v in values.items()},
             "approximation_gap": _summary(log_px - values["optimized"].double())}
    if amortized:
        table["amortization_gap"] = _summary(values["optimized"].double() -
                                             values["amortized"].double())
        table["semi_gain"] = _summary(values["semi"].double() - values["amortized"].double())
    table["settings"] = {"n": len(x), "k": k, "elbo_samples": elbo_samples,
                         "refine_steps": steps if amortized else None,
                         "estep_max_iterations": iterations,
                         "estep_converged_fraction": converged / len(x),
                         "proposal": "equal mixture of " +
                                     ("q_phi and q*" if amortized else "q* alone")}
    return table


ROWS = [("log_px", "log p(x) (IS, K)"), ("elbo_optimized", "L[q*] (optimized q)"),
        ("elbo_semi", "L[semi] (refined q)"), ("elbo_amortized", "L[q_phi] (encoder q)"),
        ("approximation_gap", "approximation gap log p(x) - L[q*]"),
        ("amortization_gap", "amortization gap L[q*] - L[q_phi]"),
        ("semi_gain", "semi-amortized gain L[semi] - L[q_phi]")]


def format_table(table: dict) -> str:
    lines = [f"{'':40s} {'nats':>10s} {'se':>8s}"]
    for key, label in ROWS:
        if key in table:
            lines.append(f"{label:40s} {table[key]['mean']:10.3f} {table[key]['se']:8.3f}")
    s = table["settings"]
    lines.append(f"n={s['n']}, K={s['k']}, ELBO samples={s['elbo_samples']}, "
                 f"refine steps={s['refine_steps']}, E-step converged for "
                 f"{100 * s['estep_converged_fraction']:.0f}% (<= {s['estep_max_iterations']} "
                 f"iterations); proposal: {s['proposal']}")
    return "\n".join(lines)
