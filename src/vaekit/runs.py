"""The run folder: its layout and file names, its metrics, and whether a path is a run folder or
a checkpoint folder (one with a meta.json). No other module spells a run folder's file names.

    config.toml             the run's configuration (config_file.py)
    checkpoints/epoch-NNNNNN/   the newest training checkpoints (`last/` before vaekit 0.2)
    best/                   the weights with the best validation score (a checkpoint folder)
    metrics.jsonl, events.jsonl   one JSON line per epoch; skipped steps, rollbacks, changes
    metrics.json            after training: the test evaluation of the best weights
    samples.png, ... figures/, report.html, gaps.json, ...   pictures, and the commands' files
Names and JSON only (no torch), so that every module can import it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from .errors import VaekitError

CONFIG = "config.toml"
CHECKPOINTS = "checkpoints"
LEGACY_LAST = "last"                # the one training checkpoint of runs before vaekit 0.2
BEST = "best"
METRICS_LOG = "metrics.jsonl"
EVENTS = "events.jsonl"
METRICS = "metrics.json"
CHECKPOINT_META = "meta.json"       # what makes a folder a checkpoint (checkpoint.py writes it)

# pictures a finished training run draws into its folder (a kind's Step.pictures)
SAMPLES = "samples.png"
SAMPLES_FITTED = "samples_fitted.png"
RECONSTRUCTIONS = "reconstructions.png"
CLASSES = "classes.png"

# what the commands write into a run folder by default
TRAVERSAL = "traversal.png"
IMPUTATION_PICTURE = "imputation.png"
IMPUTATION = "imputation.json"
GAPS = "gaps.json"
REPORT = "report.html"
FIGURES = "figures"                 # figures.py's pictures, by these names
TRAINING_CURVES = "training_curves.png"
INTERPOLATION = "interpolation.png"
MANIFOLD = "manifold.png"
LATENT_SCATTER = "latent_scatter.png"

# keys of metrics.jsonl's records and metrics.json that are read back (by resume, the
# commands, the report and compare); the rest are for people
EPOCH = "epoch"                     # a metrics.jsonl record's epoch, 1 for the first
SECONDS = "seconds"                 # a record's wall-clock seconds
BEST_EPOCH = "best_epoch"           # metrics.json: the epoch of best/
TEST = "test"                       # metrics.json: the test evaluation {metric: value}
TEST_KL, TEST_NLL, TEST_ELBO = "kl", "nll", "elbo"   # in TEST, nats per example


def epoch_name(epoch: int) -> str:
    return f"epoch-{epoch:06d}"


def aside(folder: str | Path) -> Path:
    """Where checkpoint.save moves an older checkpoint while it replaces it."""
    folder = Path(folder)
    return folder.with_name(f".{folder.name}.old")


def is_checkpoint(path: str | Path) -> bool:
    return (Path(path) / CHECKPOINT_META).is_file()


class Run:
    """A run folder (which need not exist yet). `Run.of` finds the run of a checkpoint."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def of(cls, path: str | Path) -> "Run":
        """The run of a run folder or of a checkpoint in it (else the checkpoint's folder)."""
        path = Path(path)
        if not (is_checkpoint(path) or is_checkpoint(aside(path))):
            return cls(path)
        parent = path.parent
        return cls(parent.parent if parent.name == CHECKPOINTS else parent)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def best(self) -> Path:
        return self.path / BEST

    @property
    def config_file(self) -> Path:
        return self.path / CONFIG

    @property
    def figures(self) -> Path:
        return self.path / FIGURES

    def file(self, name: str) -> Path:
        """One of the run's own files by its name here (e.g. runs.GAPS)."""
        return self.path / name

    def checkpoint(self, epoch: int) -> Path:
        """The training checkpoint saved after `epoch` epochs (0: before the first)."""
        return self.path / CHECKPOINTS / epoch_name(epoch)

    def checkpoints(self) -> list[Path]:
        """The run's training checkpoints, newest first (then `last/`, before 0.2)."""
        found = sorted((self.path / CHECKPOINTS).glob("epoch-*"), reverse=True)
        return found + [p for p in (self.path / LEGACY_LAST,) if p.is_dir()]

    def prune(self, keep: int) -> None:
        """Delete all but the newest `keep` checkpoints, and any a crash left (.epoch-*)."""
        folder = self.path / CHECKPOINTS
        for old in [*sorted(folder.glob("epoch-*"), reverse=True)[keep:], *folder.glob(".epoch-*")]:
            shutil.rmtree(old, ignore_errors=True)

    def exists(self) -> bool:
        """Whether the folder already holds a run (anything training writes first)."""
        return bool(self.checkpoints()) or (self.path / METRICS_LOG).exists() or self.best.exists()

    def metrics(self) -> list[dict]:
        """metrics.jsonl's records, one per epoch ([] before the first)."""
        log = self.path / METRICS_LOG
        if not log.is_file():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def append_metrics(self, record: dict) -> None:
        _append(self.path / METRICS_LOG, record)

    def trim_metrics(self, epoch: int) -> None:
        """Keep the first `epoch` epochs' records (after a crash the log may run past them)."""
        log = self.path / METRICS_LOG
        if not log.exists():
            return
        kept = []
        for line in log.read_text().splitlines():
            try:
                if json.loads(line)[EPOCH] <= epoch:
                    kept.append(line)
            except (json.JSONDecodeError, KeyError, TypeError):
                pass                            # a line cut short by the crash
        tmp = log.with_name(log.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        os.replace(tmp, log)

    def log_event(self, record: dict) -> None:
        _append(self.path / EVENTS, record)

    def summary(self) -> dict:
        """metrics.json ({} for a run that has not finished training)."""
        file = self.path / METRICS
        if not file.is_file():
            return {}
        try:
            return json.loads(file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise VaekitError(f"{file}: unreadable ({e})") from None

    def write_summary(self, summary: dict) -> None:
        (self.path / METRICS).write_text(json.dumps(summary, indent=1))


def checkpoint_folder(path: str | Path) -> Path:
    """A checkpoint folder (or its set-aside name), or a run folder's best (else its newest)."""
    path = Path(path)
    if is_checkpoint(path):
        return path
    if not path.exists() and is_checkpoint(aside(path)):
        return aside(path)
    run = Run(path)
    for found in (run.best, aside(run.best), *run.checkpoints()):
        if is_checkpoint(found):
            return found
    if not path.exists():
        raise VaekitError(f"{path}: no such run or checkpoint")
    raise VaekitError(f"{path}: not a vaekit run or checkpoint (no {CHECKPOINT_META})")


def _append(file: Path, record: dict) -> None:
    with file.open("a") as f:
        f.write(json.dumps(record) + "\n")
