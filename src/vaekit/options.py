"""`vaekit train`'s setting options, derived from the settings' declarations (settings.py).
Every field of TrainConfig, DataConfig and each registered spec that has a flag becomes one
option (a flag several fields declare, e.g. --seed, is one option whose help names each
owner). Options default to None, so that the command knows which were given.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import Field, dataclass, field

from .config import AXES, DATA, FAULTS, OPTIMIZATION, DataConfig, TrainConfig
from .settings import default_of, dest_of, flag_of, settings, show

# the help's group of each model axis' options
AXIS_GROUPS = {"latent": "model: p(z), p(x|z)", "likelihood": "model: p(z), p(x|z)",
               "network": "networks", "inference": "inference: how q(z|x) is found",
               "prior": "model: p(z), p(x|z)"}
# the order of the help's groups (None: the command's own options, first)
GROUPS = (None, "model: p(z), p(x|z)", "networks", "inference: how q(z|x) is found",
          OPTIMIZATION, FAULTS, DATA)


def ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def finite(text: str) -> float:
    """A float that is a number: 'inf' and 'nan' are refused where a finite one is meant."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def parse_type(annotation: str):
    """The argparse type for a field's annotation (a string under postponed evaluation)."""
    if annotation.startswith("tuple["):
        return ints
    kinds = {k.strip() for k in annotation.split("|")} - {"None"}
    return {"int": int, "float": finite, "str": str, "bool": bool}[kinds.pop()]


@dataclass
class Owner:
    """One declaration behind an option: owner ( for training), help, default as text."""
    who: str
    help: str
    default: str


@dataclass
class Option:
    flag: str
    type: object
    group: str | None
    choices: tuple | None = None
    metavar: str | None = None
    owners: list[Owner] = field(default_factory=list)

    @property
    def dest(self) -> str:
        return self.flag.replace("-", "_")

    def help(self) -> str:
        """Each owner's help with its default, owners that say the same named once."""
        by_text: dict[tuple[str, str], list[str]] = {}
        for o in self.owners:
            by_text.setdefault((o.help, o.default), []).append(o.who)
        by_owner: dict[tuple[str, str], list[str]] = {}
        for (text, default), whos in by_text.items():
            by_owner.setdefault((", ".join(w for w in whos if w), default), []).append(text)
        parts = [f"{who}{': ' if who else ''}{', and '.join(texts)} (default: {default})"
                 for (who, default), texts in by_owner.items()]
        return "; ".join(parts).replace("%", "%%")


def _declared(f: Field, who: str, group: str | None, into: dict) -> None:
    """Add field `f` (owned by `who`) to the option its flag names in `into`."""
    if flag_of(f) is None:
        return
    meta = f.metadata
    option = into.setdefault(flag_of(f), Option(flag_of(f), parse_type(str(f.type)),
                                                meta.get("group") or group, meta.get("choices"),
                                                meta.get("metavar")))
    if option.type is not parse_type(str(f.type)):
        raise TypeError(f"--{option.flag} is declared with two types")   # a declaration bug
    owner = Owner(who, meta.get("help", ""), show(default_of(f), meta.get("none")))
    if owner not in option.owners:
        option.owners.append(owner)


def train_options() -> dict[str, Option]:
    """flag -> Option for every setting of `vaekit train`, in declaration order."""
    out: dict[str, Option] = {}
    for f in settings(TrainConfig) + settings(DataConfig):
        _declared(f, "", None, out)
    for axis, registry in AXES.items():
        for name, spec in registry.specs.items():
            for f in settings(spec):
                _declared(f, name, AXIS_GROUPS[axis], out)
            for dest, (help, default) in spec.extra_flags.items():
                out[dest.replace("_", "-")].owners.append(Owner(name, help, default))
    return out


def help_groups(parser: argparse.ArgumentParser) -> dict:
    """The help's groups by title, in order (None: the parser itself)."""
    return {g: parser.add_argument_group(g) if g else parser for g in GROUPS}


def add_train_options(groups: dict) -> None:
    for option in train_options().values():
        group = groups[option.group]
        kwargs = ({"action": "store_true", "default": None} if option.type is bool
                  else {"type": option.type, "choices": option.choices,
                        "metavar": option.metavar})
        group.add_argument(f"--{option.flag}", help=option.help(), **kwargs)


def given(args: argparse.Namespace) -> dict:
    """dest -> value of every setting option given on the command line."""
    return {o.dest: getattr(args, o.dest) for o in train_options().values()
            if getattr(args, o.dest, None) is not None}


def component_options() -> dict[str, list[str]]:
    """dest -> the components (e.g. "--latent gaussian") that take the option."""
    out: dict[str, list[str]] = {}
    for axis, registry in AXES.items():
        for name, spec in registry.specs.items():
            for dest in spec.takes():
                out.setdefault(dest, []).append(f"--{axis} {name}")
    return out


def apply(config: TrainConfig, values: dict) -> None:
    """Set each TrainConfig and DataConfig field whose option is in `values` (dest -> value)."""
    for target in (config, config.data):
        for f in settings(type(target)):
            if dest_of(f) in values:
                setattr(target, f.name, values[dest_of(f)])
