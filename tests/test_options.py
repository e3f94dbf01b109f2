"""Each setting declared once (settings.py): `vaekit train`'s options, their help with the
actual default, the resume rules and the model-kind refusals (test_kinds.py) all come from the
declaration."""

import dataclasses
import re

import pytest

from vaekit.cli import build_parser
from vaekit.config import AXES, DataConfig, TrainConfig
from vaekit.settings import default_of, flag_of, show


def declared():
    """(owner, field) for every field of TrainConfig, DataConfig and each registered spec."""
    out = [("", f) for f in dataclasses.fields(TrainConfig) if f.name not in ("model", "data")]
    out += [("", f) for f in dataclasses.fields(DataConfig)]
    for registry in AXES.values():
        for name, spec in registry.specs.items():
            out += [(name, f) for f in dataclasses.fields(spec)]
    return out


def train_help() -> str:
    return " ".join(build_parser().commands["train"].format_help().split())


@pytest.mark.parametrize("owner, f", declared(), ids=lambda v: getattr(v, "name", v))
def test_every_setting_has_a_flag_or_is_declared_file_only(owner, f):
    assert "help" in f.metadata, f"{owner}.{f.name} is not declared with settings.setting"
    assert f.metadata["help"], f"{owner}.{f.name} has no help"
    assert "default" not in f.metadata["help"], "the help states the default by itself"
    if flag_of(f) is None:              # file and Python only: no flag to show
        assert f"--{f.name.replace('_', '-')} " not in train_help()
        return
    action = next(a for a in build_parser().commands["train"]._actions
                  if f"--{flag_of(f)}" in a.option_strings)
    assert " ".join(action.help.split()) in train_help()        # what --help shows
    owners = re.search(rf"(^|; )([\w-]+, )*{re.escape(owner)}(, [\w-]+)*: ", action.help)
    at = owners.end() if owner else 0                         # this owner's part
    at = action.help.index(f.metadata["help"], at)            # this field's help
    shown = action.help[action.help.index("(default: ", at):]  # the default after it
    assert shown.startswith(f"(default: {show(default_of(f), f.metadata['none'])})"), shown


def test_a_flag_shared_by_several_components_names_each_owner_once():
    action = next(a for a in build_parser().commands["train"]._actions
                  if "--activation" in a.option_strings)
    assert action.help.count("mlp") == 1 and action.help.count("hierarchical") == 1
    assert "conv, resnet: activation (default: leaky_relu)" in action.help


def test_help_shows_the_actual_default_not_a_copy(monkeypatch):
    """Changing a field's default changes the help: nothing retypes it."""
    from vaekit import options
    field = next(f for f in dataclasses.fields(TrainConfig) if f.name == "lr_decay")
    monkeypatch.setattr(field, "default", 0.5)
    help = {o.flag: o.help() for o in options.train_options().values()}["lr-decay"]
    assert "(default: 0.5)" in help


def test_min_lr_is_an_option(capsys):
    from vaekit.cli import main
    assert main(["train", "--lr-schedule", "cosine", "--min-lr", "0.0002",
                 "--print-config"]) == 0
    assert "min_lr = 0.0002" in capsys.readouterr().out
    assert main(["train", "--min-lr", "0.0002", "--print-config"]) == 2
    assert "cosine schedule" in capsys.readouterr().err
