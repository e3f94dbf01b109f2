"""Checkpoints round-trip exactly, corrupt ones are refused, and resume continues the run."""

import json

import pytest
import torch

from vaekit import (DataConfig, ModelConfig, TrainConfig, VaekitError, build_model, load_model,
                    train)
from vaekit import checkpoint
from vaekit.training import loop

from conftest import tiny


def small_config(**kw):
    base = dict(model=tiny(),
                data=DataConfig("digits"), epochs=2, batch_size=64, eval_k=20, eval_n=10)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "r"
    return train(small_config(), run, progress=False)


def test_round_trip_gives_identical_outputs(trained, tmp_path):
    model = trained.model
    checkpoint.save(tmp_path / "ck", model, trained.config, epoch=1, step=1)
    loaded, ckpt = load_model(tmp_path / "ck")
    x = trained.splits.test[:16]
    z = torch.randn(5, 4)
    with torch.no_grad():
        assert torch.equal(model.encoder(x), loaded.encoder(x))
        assert torch.equal(model.decoder(z), loaded.decoder(z))
    assert ckpt.config.model.latent.dim == 4 and ckpt.meta["epoch"] == 1
    assert ckpt.event_shape == (1, 8, 8) and ckpt.meta["version"] == 2


def test_run_folder_has_everything(trained):
    run = trained.run_dir
    for name in ("best/model.safetensors", "best/meta.json",
                 "checkpoints/epoch-000002/optimizer.safetensors",
                 "metrics.jsonl", "metrics.json", "samples.png", "reconstructions.png"):
        assert (run / name).is_file(), name
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [l["epoch"] for l in lines] == [1, 2]
    summary = json.loads((run / "metrics.json").read_text())
    assert summary["test"]["nll_k"] == 20 and summary["test"]["nll"] > 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "meta", "missing"])
def test_corrupt_checkpoints_are_refused(trained, tmp_path, damage):
    ck = checkpoint.save(tmp_path / "ck", trained.model, trained.config, epoch=1, step=1)
    weights = ck / "model.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "flip":
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "meta":
        (ck / "meta.json").write_text("{not json")
    else:
        weights.unlink()
    with pytest.raises(VaekitError):
        load_model(ck)


def test_weights_that_do_not_fit_the_config_are_refused(trained, tmp_path):
    ck = checkpoint.save(tmp_path / "ck", trained.model, trained.config, epoch=1, step=1)
    meta = json.loads((ck / "meta.json").read_text())
    meta["config"]["model"]["latent"]["dim"] = 7
    (ck / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(VaekitError, match="meta.json: checksum does not match its contents"):
        load_model(ck)
    del meta["meta_sha256"]      # as written by hand, or by vaekit before meta checksums
    (ck / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(VaekitError, match="do not fit the model config \\(size mismatch"):
        load_model(ck)


def test_resume_continues_the_same_run(tmp_path):
    straight = train(small_config(epochs=3), tmp_path / "a", progress=False, final_eval=False)
    train(small_config(epochs=1), tmp_path / "b", progress=False, final_eval=False)
    resumed = train(None, tmp_path / "b", resume=True, epochs=3, progress=False,
                    final_eval=False)
    for (name, p1), p2 in zip(straight.model.state_dict().items(),
                              resumed.model.state_dict().values()):
        assert torch.equal(p1, p2), name
    a = [json.loads(l) for l in (tmp_path / "a/metrics.jsonl").read_text().splitlines()]
    b = [json.loads(l) for l in (tmp_path / "b/metrics.jsonl").read_text().splitlines()]
    assert [l["epoch"] for l in b] == [1, 2, 3]
    assert [l["train_elbo"] for l in a] == [l["train_elbo"] for l in b]


def test_a_new_run_never_overwrites_an_existing_one(trained):
    before = (trained.run_dir / "best/model.safetensors").read_bytes()
    with pytest.raises(VaekitError, match="already holds a run"):
        train(small_config(), trained.run_dir, progress=False)
    assert (trained.run_dir / "best/model.safetensors").read_bytes() == before


@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_a_flows_weights_and_settings_are_saved_with_the_model(tmp_path, flow):
    latent = {"name": "gaussian", "dim": 3, "flow": flow, "flow_steps": 2,
              **({"flow_width": 8} if flow == "iaf" else {})}
    config = small_config(model=ModelConfig(latent=latent, network=tiny().network))
    model = build_model(config.model, (1, 8, 8))
    with torch.no_grad():                          # not the zeros a new IAF starts from
        for p in model.latent.parameters():
            p.normal_()
    checkpoint.save(tmp_path / "ck", model, config, epoch=1, step=1)
    loaded, ckpt = load_model(tmp_path / "ck")
    assert ckpt.config.model.latent == config.model.latent.validate()
    assert model.state_dict().keys() == loaded.state_dict().keys()
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    x = torch.rand(4, 1, 8, 8).bernoulli()
    draws = []
    for m in (model.eval(), loaded):
        torch.manual_seed(0)
        draws.append(m.posterior(x).importance_draws(5, reparameterized=False))
    assert all(torch.equal(a, b) for a, b in zip(*draws))


def test_a_conv_run_resumes_exactly_with_its_channels_last_weights(tmp_path):
    """On a CPU the transposed convolutions train channels-last (devices.prefer_layouts) and
    their Adam moments come back channels-last on resume: the resumed run is the straight one."""
    def conv(epochs):
        config = small_config(epochs=epochs)
        config.model.network = {"name": "conv", "channels": (4, 8)}
        return config
    straight = train(conv(3), tmp_path / "a", progress=False, final_eval=False)
    train(conv(1), tmp_path / "b", progress=False, final_eval=False)
    resumed = train(None, tmp_path / "b", resume=True, epochs=3, progress=False,
                    final_eval=False)
    def transposed(model):
        return [m.weight for m in model.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert all(w.is_contiguous() for w in transposed(straight.model))     # returned as saved
    config, _, splits, _ = loop._setup(conv(1), tmp_path / "c", False, None, None, None, None)
    model, _, _ = loop._build(config, splits, None, torch.device("cpu"), False)
    assert transposed(model) and all(w.is_contiguous(memory_format=torch.channels_last)
                                     for w in transposed(model))            # while it trains
    for (name, p1), p2 in zip(straight.model.state_dict().items(),
                              resumed.model.state_dict().values()):
        assert torch.equal(p1, p2), name


def test_optimizer_moments_take_their_parameters_layout_on_load(tmp_path):
    from vaekit.checkpoint import _layouts_of_parameters
    weight = torch.nn.Parameter(torch.randn(2, 3, 4, 4).to(memory_format=torch.channels_last))
    opt = torch.optim.Adam([weight])
    weight.grad = torch.ones_like(weight)
    opt.step()
    before = {k: v.clone() for k, v in opt.state[weight].items()}
    saved = opt.state_dict()
    saved["state"][0] = {k: v.contiguous() for k, v in before.items()}     # as a save has it
    opt.load_state_dict(saved)
    assert not opt.state[weight]["exp_avg"].is_contiguous(memory_format=torch.channels_last)
    _layouts_of_parameters(opt)
    for k, v in opt.state[weight].items():
        assert torch.equal(v, before[k])
        if v.dim() == 4:
            assert v.is_contiguous(memory_format=torch.channels_last), k
