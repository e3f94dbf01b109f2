"""Fixtures and helpers shared by every test folder (tests/ is on pytest's pythonpath, so test
modules import the helpers with `from conftest import ...`)."""

import gzip
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, settings

# The property-based tests (hypothesis): data/test_idx.py, data/test_arrays.py,
# data/test_batching.py.
# "ci": the same 150 examples on every run, so that CI is reproducible. "search" (set
# VAEKIT_HYPOTHESIS=search): 3000 fresh ones per test; it found the 257-level byte overflow.
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("search", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("VAEKIT_HYPOTHESIS", "ci"))


def scratch(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="vaekit-hyp-")) / name


def write_idx(path, array: np.ndarray, compress=True):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", s) for s in array.shape)
    data = header + array.tobytes()
    if compress:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def write_fake_mnist(folder, n_train=40, n_test=20, seed=0):
    """Four small IDX gzip files in MNIST's layout: 28x28 uint8 images and labels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (n_train, 28, 28)))
    write_idx(folder / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, n_train))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (n_test, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, n_test))
    return folder


@pytest.fixture
def fake_mnist(tmp_path):
    return write_fake_mnist(tmp_path / "fake-mnist")


@pytest.fixture
def float64():
    """Closed forms are compared in double precision; the default dtype is restored after."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def tiny(latent_dim: int = 4, hidden: int = 16, **kw):
    """A small VAE config: Gaussian latents of `latent_dim`, one-hidden-layer MLPs."""
    from vaekit import ModelConfig
    return ModelConfig(latent={"name": "gaussian", "dim": latent_dim},
                       network={"name": "mlp", "encoder_hidden": (hidden,),
                                "decoder_hidden": (hidden,)}, **kw)


def vaekit(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "vaekit", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120, cwd=cwd)


def answer(args, env, monkeypatch, capsys):
    """(exit status, stderr) of `vaekit args` run in this process."""
    from vaekit.cli import main
    with monkeypatch.context() as m:
        for key, value in (env or {}).items():
            m.setenv(key, value)
        try:
            code = main(args)
        except SystemExit as e:             # argparse's own exit
            code = e.code
    return code, capsys.readouterr().err
