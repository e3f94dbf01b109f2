"""The objectives a VAE trains on, as facts: one row per objective, read by the configuration
(its names, help and checks), the training step (the bound's values) and the metrics (their
names). Adding an objective is a pure function in objectives.py plus a row here.

A row's `values(x, q, prior, decode, config, beta, stopped)` gives [B, V]: the trained bound
first, with its estimator's gradient, then what else it measures on the same draws; `stopped`
is q at stop-gradient parameters for DReG, else None. The ELBO has no `values`: the step
computes its terms (log p(x|z), each layer's KL) itself, for free bits and the KL warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .objectives import ciwae, iwae, miwae, piwae


@dataclass(frozen=True)
class Objective:
    name: str
    help: str
    columns: Callable[[int, int], list[str]] | None = None   # (k, m) -> metric names of values
    values: Callable | None = None       # see the module's docstring; None: the ELBO
    sets: bool = False                   # takes M sets of K draws (--m)
    dreg: bool = False                   # has Tucker et al.'s DReG estimator here


OBJECTIVES = {o.name: o for o in (
    Objective("elbo", "E_q[log p(x|z)] - KL(q || p)"),
    Objective("iwae", "the K-sample importance-weighted bound, tighter than the ELBO; Burda et al. 2015",
              lambda k, m: [f"train_iwae{k}"],
              lambda x, q, p, d, c, b, s: iwae(x, q, p, d, c.k, b, s).unsqueeze(1),
              dreg=True),
    Objective("miwae", "the mean of M independent IWAE_K; Rainforth et al. 2018",
              lambda k, m: [f"train_miwae{m}x{k}"],
              lambda x, q, p, d, c, b, s: miwae(x, q, p, d, c.m, c.k, b, s).unsqueeze(1),
              sets=True, dreg=True),
    Objective("ciwae", "c ELBO + (1 - c) IWAE_K, c = --ciwae-beta; Rainforth et al.",
              lambda k, m: [f"train_ciwae{k}"],
              lambda x, q, p, d, c, b, s: ciwae(x, q, p, d, c.k, c.ciwae_beta, b).unsqueeze(1)),
    Objective("piwae", "the decoder trained by IWAE_MK, the encoder by MIWAE(M, K); Rainforth et al.",
              lambda k, m: [f"train_iwae{m * k}", f"train_miwae{m}x{k}"],
              lambda x, q, p, d, c, b, s: torch.stack(piwae(x, q, p, d, c.m, c.k, b, s), 1),
              sets=True, dreg=True),
)}


def names(having: str | None = None) -> list[str]:
    """The objectives' names; `having`: only those whose field of that name is set ("sets",
    "dreg", "values": the importance-weighted ones)."""
    return [o.name for o in OBJECTIVES.values() if having is None or getattr(o, having)]


def listed(having: str, joiner: str = "and") -> str:
    """e.g. "iwae, miwae and piwae"."""
    chosen = names(having)
    return chosen[0] if len(chosen) == 1 else f"{', '.join(chosen[:-1])} {joiner} {chosen[-1]}"


def describe() -> str:
    """The --objective help: each objective and what it is."""
    return " | ".join(f"{o.name} ({o.help})" for o in OBJECTIVES.values())
