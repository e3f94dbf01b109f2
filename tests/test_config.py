"""Validating a configuration (config.py): what it refuses, and that it loads no training,
evaluation or model code."""

import subprocess
import sys

import pytest

from vaekit import TrainConfig, VaekitError
from vaekit.config import TrainConfig
from vaekit.errors import VaekitError

from training.test_precision import small_config


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


def test_grad_clip_must_be_non_negative():
    from vaekit.errors import VaekitError
    with pytest.raises(VaekitError, match="grad_clip must be >= 0"):
        TrainConfig(grad_clip=-1.0).validate()


def test_unknown_precision_is_refused():
    with pytest.raises(VaekitError, match="unknown precision 'float8'"):
        small_config(precision="float8").validate()


@pytest.mark.parametrize("settings, message", [
    ({"m": 4, "objective": "iwae", "k": 5}, "m = 4 is the number of K-sample sets of miwae and "
                                            "piwae; the iwae objective has one"),
    ({"m": 0, "objective": "miwae"}, "m must be >= 1"),
    ({"ciwae_beta": 0.2, "objective": "iwae"}, "ciwae_beta is the ciwae objective's weight"),
    ({"ciwae_beta": 1.5, "objective": "ciwae"}, r"ciwae_beta must be in \[0, 1\]"),
    ({"gradient": "dreg"}, "the dreg gradient is for the iwae, miwae and piwae objectives, "
                           "not elbo"),
    ({"gradient": "dreg", "objective": "ciwae"}, "not ciwae"),
    ({"gradient": "dref", "objective": "iwae"},
     r"unknown gradient 'dref' \(did you mean dreg\?\)"),
    ({"k": 3}, "k = 3 is the number of importance samples of the iwae"),
    ({"free_bits": 1.0, "objective": "miwae"}, "the miwae objective has none"),
])
def test_the_importance_weighted_objectives_settings_are_checked(settings, message):
    with pytest.raises(VaekitError, match=message):
        TrainConfig(**settings).validate()


@pytest.mark.parametrize("settings", [
    {"objective": "miwae", "m": 4, "k": 5, "gradient": "dreg"},
    {"objective": "piwae", "m": 2, "k": 3},
    {"objective": "ciwae", "k": 3, "ciwae_beta": 0.0},
    {"objective": "iwae", "k": 64, "gradient": "dreg"},
])
def test_the_importance_weighted_objectives_round_trip(settings):
    config = TrainConfig(**settings).validate()
    assert TrainConfig.from_dict(config.to_dict()) == config
