"""What the commands share: the parser, the argument that names a run (and other data for it)
and the options of the commands that estimate log p(x), loading a run's model and data, and
where pictures go."""

from __future__ import annotations

import argparse
import difflib
import itertools
import time
from pathlib import Path

import torch

from ..checkpoint import load_model
from ..data import prepare, provenance
from ..errors import VaekitError
from ..options import finite
from ..evaluation import MAX_ROWS
from ..kinds import KINDS
from ..likelihoods.base import SHOWS
from ..plots import first_free
from ..runs import Run

RUN_HELP = "run folder, or one of its checkpoint folders (best/, checkpoints/epoch-N/)"
DATASET_HELP = ("these data instead of the run's own (e.g. where they have moved to): a named "
                "dataset, a .npy/.npz file or an image folder, of the run's example shape; "
                "same preprocessing, an image folder at the run's image size")


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and no abbreviated options (--epoch for --epochs)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def unrecognized(self, extra: list[str]) -> None:
        """Refuse arguments this (sub)command does not take, suggesting the nearest option."""
        options = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        unknown = next((e for e in extra if e.startswith("-")), extra[0])
        near = difflib.get_close_matches(unknown.split("=")[0], options, n=1, cutoff=0.6)
        what = "option" if unknown.startswith("-") else "argument"
        self.error(f"unrecognized {what} {unknown}" + (f": did you mean {near[0]}?" if near
                                                       else ""))


def positive(text: str) -> int:
    """An integer >= 1 (a count: images, samples, steps, threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a temperature)."""
    value = finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value:g}")
    return value


def add_run(p) -> None:
    p.add_argument("run", help=RUN_HELP)


def add_dataset(p, help: str = DATASET_HELP) -> None:
    """--dataset: a command that loads a run's data may be given other data (loaded)."""
    p.add_argument("--dataset", metavar="DATA", help=help)


def add_estimation(p, out_help: str) -> None:
    """Options of the commands that estimate log p(x): memory bound, seed, threads, output."""
    p.add_argument("--max-rows", type=positive,
                   help=f"decoder rows per chunk: bounds memory (default: {MAX_ROWS} on a CPU, "
                        "a quarter of the free memory on a GPU)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=positive, help="torch threads (default: torch's choice)")
    p.add_argument("--out", help=out_help)


def add_show(p) -> None:
    """--show: what pictures show of p(x|z) (likelihoods/base.py's SHOWS)."""
    p.add_argument("--show", choices=tuple(SHOWS), help="what pictures show of p(x|z): its "
                   "mean, a draw x ~ p(x|z) or its mode (default: the likelihood's: a draw "
                   "for the discrete ones, dlogistic-mix and dgaussian; the mean otherwise)")


def add_picture(sub, name: str, handler, n: int, png: str | None, help: str,
                description: str):
    """A picture command's parser; png None: by default a new numbered file (picture_path)."""
    p = sub.add_parser(name, help=help, description=description)
    add_run(p)
    p.add_argument("--n", type=positive, default=n, help=f"images (default {n})")
    p.add_argument("--ncol", type=positive, default=8, help="images per row (default 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    add_show(p)
    p.add_argument("--out", help=f"PNG path (default RUN/{png})" if png else
                   f"PNG path (default: a new RUN/{name}-001.png, -002, ..., the first free "
                   "number; never overwrites a file)")
    p.set_defaults(handler=handler, png=png)
    return p


def run_of(args) -> Run:
    return Run.of(args.run)


def loaded(args):
    """(model, checkpoint, splits) for args.run, on its data or args.dataset's (same shape);
    data that are gone are refused, data that changed since training are named on stderr."""
    model, ckpt = load_model(args.run, device=args.device)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    cfg, chosen = ckpt.config, getattr(args, "dataset", None)
    data = provenance.locate(cfg.data, chosen)
    splits = prepare(data.validate(), KINDS[cfg.model.kind].data(cfg.model))
    if splits.event_shape != tuple(ckpt.event_shape):
        raise VaekitError(f"data has examples of shape {list(splits.event_shape)}, the model "
                          f"expects {list(ckpt.event_shape)}")
    provenance.check(ckpt.data_fingerprint, splits.dataset, data.dataset, chosen is not None)
    return model, ckpt, splits


def load_vae(args):
    """(model, checkpoint, splits, the first --n test examples) for a VAE run."""
    model, ckpt, splits = loaded(args)
    require_vae(ckpt)
    return model, ckpt, splits, splits.test[:args.n]


def require_images(ckpt) -> None:
    if len(ckpt.event_shape) != 3:
        raise VaekitError("this model's data are not images; nothing to draw")


def require_vae(ckpt) -> None:
    if ckpt.config.model.kind != "vae":
        raise VaekitError(f"this command is for VAEs; this run is a {ckpt.config.model.kind}, "
                          "which has no log p(x) (see vaekit compare)")


def picture_path(args) -> Path:
    """--out, else RUN/args.png, else a new RUN/<command>-NNN.png: never overwrites."""
    if args.out:
        return Path(args.out)
    run = run_of(args)
    return run.file(args.png) if args.png else first_free(run.path, args.command)


def new_folder(parent: Path, stem: str) -> Path:
    """A new parent/stem-YYYYmmdd-HHMMSS[-N] path, not created (a failed call leaves none)."""
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    for i in itertools.count(1):
        path = parent / (base if i == 1 else f"{base}-{i}")
        if not path.exists():
            return path
