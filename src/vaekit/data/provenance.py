"""Which data a run was trained on: where they are, and whether they are still the same.

Training stores a dataset given as a path absolute (`absolute`), so that the run's commands
find its data from any folder (named datasets stay names), and each checkpoint records the
fingerprint of the data the model saw (`Dataset.fingerprint`, in meta.json). The commands that
load a run's data again find them (`locate`) and say when they differ (`check`). Runs before
vaekit 0.4 recorded no fingerprint (nothing is compared) and stored the path as typed.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from ..errors import VaekitError
from .dataset import Dataset
from .sources import DATASETS

SHOWN = 12                          # hex digits of a fingerprint in messages


def absolute(name: str) -> str:
    """How a run stores its dataset: a named one by its name, a path absolute (links resolved;
    a path that does not exist as given, for loading to refuse)."""
    path = Path(name)
    return name if name in DATASETS or not path.exists() else str(path.resolve())


def locate(data, dataset: str | None = None):
    """The DataConfig to load for a run whose config has `data`: its own data, or `dataset`
    instead (an image folder at the run's image size). Its own data gone: one line."""
    if dataset is not None:
        return dataclasses.replace(data, dataset=dataset, image_size=data.image_size
                                   if Path(dataset).is_dir() else None)
    name, path = data.dataset, Path(data.dataset)
    if name in DATASETS or (path.is_dir() if data.image_size else path.exists()):
        return data
    if not path.is_absolute():      # a run before 0.4
        raise VaekitError(f"this run's data, {name}, are not found from {Path.cwd()}: runs "
                          "before vaekit 0.4 stored the path as typed, relative to the folder "
                          "they were trained from; run from there, or give --dataset PATH")
    what = "no longer a folder" if path.exists() else "no longer there (moved or deleted?)"
    raise VaekitError(f"this run's data, {name}, are {what}; give --dataset PATH for their "
                      "new place")


def check(recorded: str | None, dataset: Dataset, where: str, chosen: bool = False,
          after: str = "what follows is on the data as they are now") -> None:
    """One line on stderr when `dataset` is not the data whose fingerprint a run `recorded`
    (None: nothing recorded, nothing said). `chosen`: the user named other data (--dataset),
    so a difference is expected: a note rather than a warning."""
    now = dataset.fingerprint
    if recorded is None or now == recorded:
        return
    ids = f"fingerprint {now[:SHOWN]}, trained on {recorded[:SHOWN]}"
    line = (f"note: using {where}, not the data this run was trained on ({ids})" if chosen
            else f"warning: the data at {where} differ from the data this run was trained on "
                 f"({ids}); {after}")
    print(f"vaekit: {line}", file=sys.stderr)
