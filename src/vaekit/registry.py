"""Components by name: a `Spec` holds one component's settings, a `Registry` finds its class.

Each axis of a model (latent family, likelihood, network, inference scheme) has a registry.
A spec is a dataclass whose class attribute `name` is its key; it validates its own fields
(`validate`) and builds its component. In JSON (run configs, checkpoints) a spec is
{"name": ..., field: value, ...}; in Python it may be given as the spec object, its name, or
that dict. Adding a component is a new module with its spec class, registered with
`REGISTRY.register` (each package's __init__ lists its
components), and, for the command line, flags named in the spec's `options` (train_cli.py).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from .errors import VaekitError


class Spec:
    """Base of component settings (subclasses are dataclasses)."""
    name: ClassVar[str] = ""
    # command-line options it takes (argparse dest -> field, or None for an option that
    # `from_options` reads itself)
    options: ClassVar[dict] = {}

    def validate(self) -> "Spec":
        return self

    def to_dict(self) -> dict:
        return {"name": self.name, **dataclasses.asdict(self)}

    @classmethod
    def from_options(cls, given: dict) -> "Spec":
        """The spec with the command-line options in `given` (dest -> value) that it takes."""
        return cls(**{cls.options[k]: v for k, v in given.items() if cls.options.get(k)})


def check(ok: bool, message: str) -> None:
    """Raise VaekitError(message) unless ok: for one-line validation."""
    if not ok:
        raise VaekitError(message)


def tuples(v):
    """JSON lists back to the (nested) tuples the dataclasses hold."""
    return tuple(tuples(x) for x in v) if isinstance(v, list) else v


class Registry:
    """name -> Spec subclass for one axis ("latent family", "likelihood", ...)."""

    def __init__(self, what: str):
        self.what, self.specs = what, {}

    def register(self, spec_cls: type) -> type:
        self.specs[spec_cls.name] = spec_cls
        return spec_cls

    def __getitem__(self, name: str) -> type:
        check(name in self.specs, f"unknown {self.what} {name!r}; choose from {self.names()}")
        return self.specs[name]

    def names(self) -> list[str]:
        return sorted(self.specs)

    def spec(self, value) -> Spec:
        """A validated spec from a spec, a name, or a {"name": ..., ...} dict."""
        if isinstance(value, Spec):
            check(value.name in self.specs and isinstance(value, self.specs[value.name]),
                  f"{type(value).__name__} is not a registered {self.what}")
            return value.validate()
        if isinstance(value, str):
            value = {"name": value}
        check(isinstance(value, dict) and "name" in value,
              f"a {self.what} is a name or a dict with a 'name', got {value!r}")
        fields = dict(value)
        cls = self[fields.pop("name")]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        check(not unknown, f"{self.what} {cls.name!r} has no options {unknown}; "
                           f"it has {sorted(known)}")
        try:
            return cls(**{k: tuples(v) for k, v in fields.items()}).validate()
        except (TypeError, ValueError) as e:    # e.g. a number where a tuple of widths goes
            raise VaekitError(f"{self.what} {cls.name!r}: an option has the wrong type "
                              f"({type(e).__name__}: {e})") from None
