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
