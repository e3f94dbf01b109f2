"""A setting is a dataclass field that declares, once, what the tools need to know about it.

    epochs: int = setting(100, "passes over the training data", resume=True)

Its metadata carries its help, its command-line `flag` (default: the name with dashes; None:
config file only), `resume`, the model `kinds` it applies to, argparse `choices` and
`metavar`, and what a default of None means (`none`).
"""

from __future__ import annotations

import dataclasses

DERIVED = object()       # sentinel: the flag is the field's name with dashes


def setting(default=dataclasses.MISSING, help: str = "", *, flag=DERIVED,
            resume: bool = False, kinds: tuple[str, ...] | None = None, choices=None,
            metavar: str | None = None, none: str | None = None, group: str | None = None,
            default_factory=dataclasses.MISSING):
    """A dataclass field with its declaration (see the module docstring)."""
    meta = {"help": help, "flag": flag, "resume": resume, "kinds": kinds, "choices": choices,
            "metavar": metavar, "none": none, "group": group}
    return dataclasses.field(default=default, default_factory=default_factory, metadata=meta)


def flag_of(f: dataclasses.Field) -> str | None:
    """The field's command-line flag without its dashes (None: file and Python only)."""
    flag = f.metadata.get("flag", DERIVED)
    return f.name.replace("_", "-") if flag is DERIVED else flag


def dest_of(f: dataclasses.Field) -> str | None:
    """The argparse destination of the field's flag (latent-dim -> latent_dim)."""
    flag = flag_of(f)
    return None if flag is None else flag.replace("-", "_")


def default_of(f: dataclasses.Field):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def field_named(cls, name: str) -> dataclasses.Field:
    return {f.name: f for f in dataclasses.fields(cls)}[name]


def is_default(obj, name: str) -> bool:
    """Whether obj's setting `name` still has its declared default."""
    return getattr(obj, name) == default_of(field_named(type(obj), name))


def show(value, none: str | None = None) -> str:
    """A default as the command line writes it: 200,200 for a tuple, 1e-05 for a float."""
    if value is None:
        return none or "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(show(v) for v in value)
    return str(value)


def settings(cls) -> list[dataclasses.Field]:
    """The fields of a settings dataclass that are settings (not nested tables)."""
    return [f for f in dataclasses.fields(cls) if "help" in f.metadata]
