"""Components by name: a `Spec` holds one component's settings, a `Registry` finds its class.
Each model axis has a registry. A spec is a dataclass whose class attribute `name` is its key
(in JSON {"name": ..., field: value, ...}); it validates its fields and builds its component.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import ClassVar

from .errors import VaekitError
from .settings import dest_of, settings


class Spec:
    """Base of component settings: dataclasses with fields declared by settings.setting."""
    name: ClassVar[str] = ""
    # options that `from_options` reads beyond its fields' own flags: dest -> (help, default)
    extra_flags: ClassVar[dict] = {}

    def validate(self) -> "Spec":
        return self

    def check_model(self, config) -> None:
        """Refuse, in one line, a ModelConfig whose other axes this component does not fit."""

    def retired(self) -> str | None:
        """Why a new run may not use this setting any more (its old runs still load, resume
        and evaluate); None: it may."""
        return None

    def build_for(self, event_shape: tuple[int, ...]):
        """The component for examples of `event_shape` (default: `build()`, which needs none;
        a deep hierarchy's groups sit at the image's resolutions)."""
        return self.build()

    def to_dict(self) -> dict:
        return {"name": self.name, **dataclasses.asdict(self)}

    @classmethod
    def takes(cls) -> set[str]:
        """The command-line options (argparse dests) this component takes."""
        return {dest_of(f) for f in settings(cls) if dest_of(f)} | set(cls.extra_flags)

    @classmethod
    def from_options(cls, given: dict, base: "Spec | None" = None) -> "Spec":
        """The spec with the options in `given` it takes, over `base` or the defaults."""
        fields = {f.name: given[dest_of(f)] for f in settings(cls) if dest_of(f) in given}
        return dataclasses.replace(base, **fields) if base is not None else cls(**fields)


def check(ok: bool, message: str) -> None:
    if not ok:
        raise VaekitError(message)


_KINDS = {"int": "an integer", "float": "a finite number", "str": "a string",
          "bool": "true or false", "None": "absent"}


def _fits(value, annotation: str) -> bool:
    """Whether `value` has the type a field's annotation (a string) names (floats finite)."""
    if annotation.startswith("tuple["):
        inner = annotation[6:-1].removesuffix(", ...")
        return isinstance(value, (tuple, list)) and all(_fits(v, inner) for v in value)
    kinds = [a.strip() for a in annotation.split("|")]
    return any(
        (kind == "None" and value is None)
        or (kind == "bool" and isinstance(value, bool))
        or (kind == "int" and isinstance(value, int) and not isinstance(value, bool))
        or (kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))
        or (kind == "str" and isinstance(value, str))
        or kind in ("Spec", "dict", "ModelConfig", "DataConfig")
        for kind in kinds)


def check_types(obj, where: str = "") -> None:
    """Refuse, naming the field (after `where`), a value of the wrong type or not finite."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if not _fits(value, str(f.type)):
            wanted = " or ".join(_KINDS.get(k.strip(), k.strip()) for k in str(f.type).split("|")
                                 if not k.strip().startswith("tuple"))
            wanted = wanted or "a list of integers"
            raise VaekitError(f"{where}{f.name} must be {wanted}, got {value!r}")


def near(key: str, known) -> str:
    """": did you mean X?" for the known name closest to a misspelt `key`, else ""."""
    found = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {found[0]}?)" if found else ""


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
        if name not in self.specs:
            raise VaekitError(f"unknown {self.what} {name!r}{near(str(name), self.specs)}; "
                              f"choose from {self.names()}")
        return self.specs[name]

    def names(self) -> list[str]:
        return sorted(self.specs)

    def spec(self, value, where: str = "") -> Spec:
        """A validated spec from a spec, name or dict (`where`: its place, for messages)."""
        if isinstance(value, Spec):
            check(value.name in self.specs and isinstance(value, self.specs[value.name]),
                  f"{type(value).__name__} is not a registered {self.what}")
            check_types(value, where)
            return value.validate()
        if isinstance(value, str):
            value = {"name": value}
        check(isinstance(value, dict) and "name" in value,
              f"a {self.what} is a name or a dict with a 'name', got {value!r}")
        fields = dict(value)
        cls = self[fields.pop("name")]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(fields) - known)
        if unknown:
            raise VaekitError(f"unknown key {where}{unknown[0]}{near(unknown[0], known)}: the "
                              f"{self.what} {cls.name!r} has {sorted(known)}")
        return self.spec(cls(**{k: tuples(v) for k, v in fields.items()}), where)
