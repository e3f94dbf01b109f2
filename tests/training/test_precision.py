"""Training precision: "bfloat16" runs the step's matrix products in bfloat16 under autocast,
with float32 weights, network outputs, densities and evaluation;
float16 with its loss scale."""

import json
import math

import pytest
import torch

import vaekit
from vaekit import build_model, DataConfig, train, TrainConfig
from vaekit.checkpoint import load_model
from vaekit.training import autocast, loss_fn, precision

from conftest import tiny
from test_devices import small


def small_config(**kw):
    base = dict(model=tiny(hidden=32),
                data=DataConfig("digits"), epochs=3, batch_size=64, eval_k=50, eval_n=50)
    base.update(kw)
    return TrainConfig(**base)


def test_matrix_products_run_in_bfloat16_and_outputs_stay_float32():
    config = small_config(precision="bfloat16")
    model = build_model(config.model, (1, 8, 8))
    seen = []
    model.encoder[0].register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    x = torch.bernoulli(torch.full((8, 1, 8, 8), 0.3))
    with autocast(config):
        q = model.posterior(x)
        p = model.observation(q.rsample())
    assert seen == [torch.bfloat16]
    assert q.base_dist.loc.dtype == q.base_dist.scale.dtype == torch.float32
    assert p.base_dist.logits.dtype == torch.float32
    assert p.log_prob(x).dtype == torch.float32
    with autocast(small_config()):          # float32: autocast is off
        model.posterior(x)
    assert seen[-1] == torch.float32


def test_bfloat16_loss_is_the_float32_loss_to_bfloat16_accuracy():
    config = small_config(precision="bfloat16")
    torch.manual_seed(0)
    model = build_model(config.model, (1, 8, 8))
    x = torch.bernoulli(torch.full((256, 1, 8, 8), 0.3))
    losses = {}
    for precision in ("float32", "bfloat16"):
        config.precision = precision
        torch.manual_seed(1)                # the same noise
        with autocast(config):
            loss, values, _ = loss_fn(model, x, config, beta=1.0)
        assert loss.dtype == values.dtype == torch.float32
        loss.backward()
        losses[precision] = loss.item()
        assert all(p.grad.dtype == torch.float32 for p in model.parameters())
        model.zero_grad()
    # bfloat16 keeps 8 significant bits: relative error per product about 2^-9
    assert losses["bfloat16"] == pytest.approx(losses["float32"], rel=1e-2)
    assert losses["bfloat16"] != losses["float32"]      # it did run in lower precision


def test_bfloat16_training_learns_as_float32_does_and_resumes(tmp_path):
    runs = {}
    for precision in ("float32", "bfloat16"):
        runs[precision] = train(small_config(precision=precision, epochs=4),
                                tmp_path / precision, progress=False)
    first = runs["bfloat16"].history[0]["valid_elbo"]
    elbo = {p: r.test["elbo"] for p, r in runs.items()}
    assert runs["bfloat16"].history[-1]["valid_elbo"] > first + 5     # it learns
    assert abs(elbo["bfloat16"] - elbo["float32"]) < 1.5, elbo
    model, ckpt = load_model(tmp_path / "bfloat16")
    assert ckpt.config.precision == "bfloat16"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    resumed = train(None, tmp_path / "bfloat16", resume=True, epochs=5, progress=False,
                    final_eval=False)
    assert resumed.config.precision == "bfloat16" and len(resumed.history) == 1


@pytest.mark.parametrize("network", ["conv", "resnet"])
def test_user_and_conv_networks_give_float32_distributions_under_bfloat16(network):
    """The cast back to float32 is the model's, not each network's: a plain nn.Sequential of
    the user's own keeps bfloat16 out of the distributions too."""
    from torch import nn
    config = small_config(precision="bfloat16")
    config.model.network = {"name": network, "channels": (4, 8)}
    convs = build_model(config.model, (1, 8, 8))
    mine = build_model(config.model, (1, 8, 8), vaekit.Networks(
        nn.Sequential(nn.Flatten(), nn.Linear(64, 8)), nn.Sequential(nn.Linear(4, 64),
                                                                      nn.Unflatten(1, (1, 8, 8)))))
    x = torch.bernoulli(torch.full((8, 1, 8, 8), 0.3))
    for model in (convs, mine):
        with autocast(config):
            q = model.posterior(x)
            p = model.observation(q.rsample())
        assert q.base_dist.loc.dtype == torch.float32 and p.base_dist.logits.dtype == torch.float32


def test_float16_trains_with_a_loss_scale_and_no_rollback(tmp_path, monkeypatch):
    """A loss scale far too large at first: the scaler skips those steps and lowers it; the
    guard does not count them, and float16 ends near float32."""
    made = []

    def huge(config, device):
        scaler = torch.amp.GradScaler(device.type, init_scale=2.0 ** 40,
                                      enabled=config.precision == "float16")
        made.append(scaler)
        return scaler

    monkeypatch.setattr("vaekit.training.step.grad_scaler", huge)
    half = train(small(precision="float16", epochs=3), tmp_path / "h", progress=False)
    assert half.history[0].get("scaler_skipped_steps", 0) > 0
    assert not any("skipped_steps" in r for r in half.history)
    assert not (tmp_path / "h" / "events.jsonl").exists()
    assert made[0].get_scale() < 2.0 ** 40
    assert math.isfinite(half.test["nll"])
    meta = json.loads((tmp_path / "h" / "checkpoints" / "epoch-000003" / "meta.json").read_text())
    assert meta["trainer"]["scaler"]["scale"] == made[0].get_scale()   # resumes with it


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_half_precision_training_ends_near_float32(tmp_path, half):
    runs = {p: train(small(precision=p, epochs=4, eval_k=200, eval_n=None), tmp_path / p,
                     progress=False) for p in ("float32", half)}
    a, b = runs["float32"].test, runs[half].test
    assert not (tmp_path / half / "events.jsonl").exists()      # no skipped step, no rollback
    assert abs(a["nll"] - b["nll"]) < 1.0, (a["nll"], b["nll"])
    assert a["nll"] != b["nll"]                          # it did train in lower precision


@pytest.mark.parametrize("units", [False, True])
def test_bfloat16_on_a_cpu_without_bfloat16_units_says_it_will_not_pay(monkeypatch, units):
    """An AVX2-only CPU (this machine: no AVX512-BF16, no AMX) converts bfloat16 matrix products
    to float32 and back: `train` says so in one line; with the units, or for float32, nothing."""
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: units)
    cpu = torch.device("cpu")
    note = precision.bfloat16_note(small_config(precision="bfloat16"), cpu)
    assert (note is None) == units
    if not units:
        assert note.startswith("vaekit: note:") and "\n" not in note and "bfloat16" in note
    assert precision.bfloat16_note(small_config(), cpu) is None
    assert precision.bfloat16_note(small_config(precision="bfloat16"),
                                   torch.device("cuda")) is None


def test_the_bfloat16_note_is_said_once_a_run_not_on_each_resume(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    config = small_config(precision="bfloat16", epochs=1)
    train(config, tmp_path / "r", progress=False, final_eval=False)
    assert capsys.readouterr().err.count("no bfloat16 matrix units") == 1
    train(None, tmp_path / "r", resume=True, epochs=2, progress=False, final_eval=False)
    assert "no bfloat16 matrix units" not in capsys.readouterr().err
