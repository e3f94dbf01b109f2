"""Configuration files: a run's TrainConfig as TOML, read with tomllib and written with tomli-w,
in the layout of `TrainConfig.to_dict()`: training settings at the top level, then [data],
[model] and one table per model axis. Keys left out take their defaults; TOML has no null, so
a None is left out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import tomli_w

from .errors import VaekitError

if sys.version_info >= (3, 11):
    import tomllib
else:                                   # Python 3.10
    import tomli as tomllib

HEADER = "# vaekit run configuration: `vaekit train --config FILE` (options given on the\n" \
         "# command line override it). Keys left out take their defaults.\n"


def read(path: str | Path) -> dict:
    """The settings in a TOML file, as nested dicts (checked by TrainConfig.from_dict)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VaekitError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise VaekitError(f"{path}: cannot read it ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise VaekitError(f"{path}: not valid TOML ({e})") from None


def _without_none(d: dict) -> dict:
    return {k: _without_none(v) if isinstance(v, dict) else v for k, v in d.items()
            if v is not None}


def dumps(config) -> str:
    return HEADER + tomli_w.dumps(_without_none(config.to_dict()))


def write(config, path: str | Path) -> Path:
    """Write a TrainConfig as TOML to `path` (through a temporary file: never half-written)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(config), encoding="utf-8")
    tmp.replace(path)
    return path
