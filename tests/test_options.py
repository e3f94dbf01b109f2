"""Each setting declared once (settings.py): `vaekit train`'s options, their help with the
actual default, the resume rules and the model-kind refusals all come from the declaration."""

import dataclasses
import re
import subprocess
import sys

import pytest

from vaekit.cli import build_parser
from vaekit.config import AXES, DataConfig, ModelConfig, TrainConfig
from vaekit.errors import VaekitError
from vaekit.kinds import KINDS
from vaekit.settings import default_of, flag_of, settings, show


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


def other_value(f):
    """A value of field f's type other than its default."""
    default = default_of(f)
    if isinstance(default, bool):
        return not default
    if isinstance(default, (int, float)):
        return default + 1
    if default is None:
        return 0.5
    return {"objective": "iwae", "lr_schedule": "cosine"}[f.name]


KIND_FIELDS = [f for f in settings(TrainConfig) if f.metadata["kinds"]]


@pytest.mark.parametrize("f", KIND_FIELDS, ids=lambda f: f.name)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_setting_for_other_kinds_is_refused_with_its_name(kind, f):
    config = TrainConfig(model=ModelConfig(kind=kind).validate(), **{f.name: other_value(f)})
    if kind in f.metadata["kinds"]:
        KINDS[kind].check_training(config)
        return
    with pytest.raises(VaekitError, match=f"^{f.name} is for"):
        KINDS[kind].check_training(config)


def test_the_kinds_declarations_cover_the_vae_objective():
    assert {f.name for f in KIND_FIELDS} >= {"objective", "k", "beta", "warmup_epochs",
                                              "free_bits", "lr_schedule"}


CHECK = """
import sys
import vaekit.config as c
c.TrainConfig.from_dict({"model": {"latent": {"name": "hierarchical"}, "network": "conv"},
                         "data": {"dataset": "fashion-mnist"}, "epochs": 3}).validate()
print(" ".join(sorted(m for m in sys.modules if m.startswith("vaekit"))))
"""


def test_validating_a_config_loads_no_training_evaluation_or_model_code():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                         check=True).stdout.split()
    assert "vaekit.config" in out and "vaekit.latents.hierarchical" in out
    loaded = [m for m in out if m.split(".")[1:2] in (["training"], ["evaluation"], ["model"])]
    assert not loaded, loaded
