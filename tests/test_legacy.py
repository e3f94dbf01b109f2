"""Run folders written by vaekit 0.1 (checkpoint format 1: one flat ModelConfig over [N, D]
data) still load, give the outputs they gave then, evaluate, and resume. The folders in
tests/fixtures/v1-runs were written by vaekit 0.1 itself (commit d6d2c13), with the encoder and
decoder outputs it computed on fixed inputs (expected.safetensors)."""

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import vaekit
from vaekit.cli import main

RUNS = Path(__file__).parent / "fixtures" / "v1-runs"


@pytest.mark.parametrize("name", ["bernoulli", "gaussian"])
def test_a_version_1_run_loads_with_the_outputs_it_had(name):
    model, ckpt = vaekit.load_model(RUNS / name)
    assert ckpt.meta["version"] == 1 and ckpt.event_shape == (1, 8, 8)
    assert ckpt.config.model.network.name == "mlp" and ckpt.config.model.latent.dim == 2
    assert ckpt.config.model.likelihood.name == name
    expected = load_file(str(RUNS / name / "expected.safetensors"))
    x = expected["x"].reshape(-1, 1, 8, 8)                  # version 1 data were [N, 64]
    with torch.no_grad():   # to float32 rounding (the thread count changes the sum order)
        torch.testing.assert_close(model.encode(x), expected["encoder"], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(model.decoder(expected["z"]).flatten(1), expected["decoder"],
                                   rtol=1e-6, atol=1e-6)


def test_a_version_1_run_evaluates_as_it_did(capsys):
    before = json.loads((RUNS / "bernoulli" / "metrics.json").read_text())["test"]
    assert main(["evaluate", str(RUNS / "bernoulli"), "--k", "200"]) == 0
    out = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines())
    # the same weights and the same seeded test binarization: the ELBO terms agree to Monte
    # Carlo error (one sample of z per image, 360 images)
    assert abs(float(out["elbo"]) - before["elbo"]) < 4 * before["elbo_se"]
    assert math.isfinite(float(out["nll"]))


def test_a_version_1_run_resumes_and_writes_version_2(tmp_path):
    run = tmp_path / "old"
    shutil.copytree(RUNS / "bernoulli", run)
    result = vaekit.train(None, run, resume=True, epochs=3, progress=False, final_eval=False)
    assert [r["epoch"] for r in result.history] == [3]
    meta = json.loads((run / "checkpoints" / "epoch-000003" / "meta.json").read_text())
    assert meta["version"] == 2 and meta["event_shape"] == [1, 8, 8]
    assert meta["config"]["model"]["network"]["name"] == "mlp"


# Run folders written by vaekit 0.3.0 itself (commit 68c6b1e): a Gaussian VAE and a GAN on the
# digits, 2 epochs, tiny MLPs, with the outputs 0.3.0 computed on fixed inputs
# (expected.safetensors). Their checkpoints store the best score as `best_valid_elbo`.
V03 = Path(__file__).parent / "fixtures" / "v0.3-runs"


def test_a_0_3_run_loads_with_the_outputs_it_had():
    model, ckpt = vaekit.load_model(V03 / "gaussian-mlp")
    expected = load_file(str(V03 / "gaussian-mlp" / "expected.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(model.encode(expected["x"]), expected["encoder"])
        torch.testing.assert_close(model.decoder(expected["z"]), expected["decoder"])
    gan, _ = vaekit.load_model(V03 / "gan-mlp")
    expected = load_file(str(V03 / "gan-mlp" / "expected.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(gan.decoder(expected["z"]), expected["generator"])


def test_a_0_3_run_evaluates_as_it_did(capsys):
    before = json.loads((V03 / "gaussian-mlp" / "metrics.json").read_text())["test"]
    assert main(["evaluate", str(V03 / "gaussian-mlp"), "--k", "200"]) == 0
    out = dict(line.split()[:2] for line in capsys.readouterr().out.splitlines())
    assert abs(float(out["elbo"]) - before["elbo"]) < 4 * before["elbo_se"]


@pytest.mark.parametrize("name, kind", [("gaussian-mlp", "vae"), ("gan-mlp", "gan")])
def test_a_0_3_run_resumes_with_its_best_score(tmp_path, name, kind):
    run = tmp_path / name
    shutil.copytree(V03 / name, run)
    old = json.loads((run / "checkpoints" / "epoch-000002" / "meta.json").read_text())
    result = vaekit.train(None, run, resume=True, epochs=3, progress=False, final_eval=False)
    assert result.config.model.kind == kind and [r["epoch"] for r in result.history] == [3]
    meta = json.loads((run / "checkpoints" / "epoch-000003" / "meta.json").read_text())
    # the score 0.3.0 stored as best_valid_elbo is the run's best so far: kept, or bettered
    assert meta["trainer"]["best_valid_score"] >= old["trainer"]["best_valid_elbo"]


# Run folders of the deep hierarchy written before settings that have new defaults existed, with
# the outputs they computed then (digits, 1 epoch, width 4): `topdown-first-step` before
# `stem_stride` (commit 714c2fc), `topdown-stride4` before `top` and `stem` (commit 57e6f2e,
# --stem-stride 4). Their configs lack those keys: each loads as what it was.
V2 = Path(__file__).parent / "fixtures" / "v2-runs"


@pytest.mark.parametrize("name, missing, was", [
    ("topdown-first-step", ("stem_stride", "top"), (1, "pooled", "single")),
    ("topdown-stride4", ("top", "stem"), (4, "pooled", "single"))])
def test_a_topdown_run_from_before_new_settings_loads_with_its_outputs(tmp_path, name,
                                                                       missing, was):
    saved = json.loads((V2 / name / "best" / "meta.json").read_text())["config"]["model"]
    assert not set(missing) & set(saved["latent"]) and "stem" not in saved["network"]
    model, ckpt = vaekit.load_model(V2 / name)
    latent, network = ckpt.config.model.latent, ckpt.config.model.network
    assert (latent.stem_stride, latent.top, network.stem) == was
    assert (network.stem_stride, network.top) == (latent.stem_stride, latent.top)
    expected = load_file(str(V2 / name / "expected.safetensors"))
    with torch.no_grad():
        torch.testing.assert_close(model.encoder(expected["x"]), expected["encoder"])
        torch.testing.assert_close(model.decoder(model.latent.decoder_input(expected["z"])),
                                   expected["decoder"])
    run = tmp_path / "old"
    shutil.copytree(V2 / name, run)
    result = vaekit.train(None, run, resume=True, epochs=2, progress=False, final_eval=False)
    assert [r["epoch"] for r in result.history] == [2]
    assert result.config.model.network.stem == "single"
