"""The run folder: its layout and file names, its metrics, and whether a path is a run folder or
a checkpoint folder (one with a meta.json). No other module spells a run folder's file names.

    config.toml             the run's configuration (config_file.py)
    checkpoints/epoch-NNNNNN/   the newest training checkpoints (`last/` before vaekit 0.2)
    best/                   the weights with the best validation score (a checkpoint folder)
    metrics.jsonl, events.jsonl   one JSON line per epoch; skipped steps, rollbacks, changes
    metrics.json            after training: the test evaluation of the best weights
    .lock                   while a process trains the run: its lock (`Run.hold`), its pid
    samples.png, ... figures/, report.html, gaps.json, ...   pictures, and the commands' files
Names, JSON and the lock only (no torch), so that every module can import it.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:                 # Windows: msvcrt's byte-range lock instead (see _lock)
    fcntl = None
    import msvcrt

from .errors import VaekitError

CONFIG = "config.toml"
CHECKPOINTS = "checkpoints"
LEGACY_LAST = "last"                # the one training checkpoint of runs before vaekit 0.2
BEST = "best"
METRICS_LOG = "metrics.jsonl"
EVENTS = "events.jsonl"
METRICS = "metrics.json"
CHECKPOINT_META = "meta.json"       # what makes a folder a checkpoint (checkpoint.py writes it)
LOCK = ".lock"                      # locked by the process training the run; holds its pid

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
SAMPLES_MEAN = "samples_mean.png"   # the samples' z, the mean of p(x|z) (where they show more)
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
CLASS_NAMES = "class_names"         # metrics.json: the training data's name of each label


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

    @contextmanager
    def hold(self, resume: bool = False):
        """Lock the run folder for this process (a new run: making the folder first), or
        refuse with VaekitError while another process holds it. Released on leaving, or by the
        OS when the process dies (no stale lock); the lock file goes then, and so do the
        folders made here if nothing else was written in them. A folder to resume that does
        not exist is not locked (whoever reads it says that it is missing)."""
        key = self.path.resolve()
        if key in _HELD:                        # already this process's (the CLI's, then train's)
            yield self
            return
        made = [p for p in (self.path, *self.path.parents) if not p.exists()]
        advice = ("wait for it to finish before resuming" if resume
                  else "wait for it or give another --name")
        fd = _acquire(self.path, not resume, advice)
        if fd is not None:
            _HELD.add(key)
        try:
            yield self
        finally:
            if fd is not None:
                _HELD.discard(key)
                _release(self.path / LOCK, fd)
                for folder in made:             # the deepest first
                    try:
                        folder.rmdir()
                    except OSError:             # not empty: a run, or someone else's
                        break

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


def _lock(fd: int) -> bool:
    """Take the lock on the open lock file without waiting; False if another process holds it.
    POSIX: flock on the whole file. Windows: msvcrt's lock of one byte past the pid (the pid
    stays readable); a lock file is only removed there after it is closed, so another
    process may briefly find it gone and try again (_acquire does)."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:
            os.lseek(fd, _WINDOWS_LOCK_BYTE, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


_WINDOWS_LOCK_BYTE = 1 << 20
_HELD: set[Path] = set()            # the run folders this process holds


def _acquire(path: Path, create: bool, advice: str) -> int | None:
    """The open, locked lock file of `path` (None: no such folder and not `create`)."""
    file = path / LOCK
    for _ in range(100):            # each retry: a holder removed the file as we opened it
        try:
            if create:
                path.mkdir(parents=True, exist_ok=True)
            elif not path.is_dir():
                return None
            fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
        except FileNotFoundError:   # a parent removed by a train that could not start
            continue
        except (FileExistsError, NotADirectoryError):
            raise VaekitError(f"{path}: not a folder (a run folder is one)") from None
        if not _lock(fd):
            pid = _pid(fd)
            os.close(fd)
            holder = f" (pid {pid})" if pid else ""
            raise VaekitError(f"{path} is in use by another vaekit process{holder}; {advice}")
        try:
            current = os.path.samestat(os.fstat(fd), os.stat(file))
        except FileNotFoundError:
            current = False
        if current:                 # not a file its last holder removed after we opened it
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)
    raise VaekitError(f"{path}: could not lock {file}; try again")


def _pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode().strip())
    except (OSError, ValueError):   # not written yet
        return None


def _release(file: Path, fd: int) -> None:
    """Remove the lock file, then unlock it (POSIX: removed while still held, so no process
    can take a lock on it that another then misses)."""
    if fcntl is not None:
        file.unlink(missing_ok=True)
        os.close(fd)
        return
    os.close(fd)
    try:
        file.unlink(missing_ok=True)
    except OSError:                 # Windows: another process has it open
        pass


def _append(file: Path, record: dict) -> None:
    with file.open("a") as f:
        f.write(json.dumps(record) + "\n")


def trained_key(record: dict) -> str | None:
    """The metric of the bound a run trains (train_elbo, train_iwae8, ...): a training step's
    record puts it first of its train_ values."""
    return next((k for k in record if k.startswith("train_")), None)
