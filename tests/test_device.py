"""The device as an option (devices.py) on the CPU: resolution and refusals, training and
resume with --device cpu named, batches drawn from a torch.Generator, the NaN guard's decisions
kept on the device, float16 with its loss scale, and the RNG fork of the E-step's checks."""

import json
import math

import pytest
import torch

from vaekit import DataConfig, TrainConfig, devices, train
from vaekit.checkpoint import load_model
from vaekit.cli import main
from vaekit.data import Batches
from vaekit.errors import VaekitError
from vaekit.inference.local import LocalOptimizer, optimize
from vaekit.training.guard import Diverged, Guard
from vaekit.training import precision

from conftest import tiny

MPS = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
ONLY_CPU = not torch.cuda.is_available() and not MPS


def small(**kw):
    base = dict(model=tiny(hidden=32), data=DataConfig("digits"), epochs=2, batch_size=64,
                eval_k=50, eval_n=50, threads=1)
    base.update(kw)
    return TrainConfig(**base)


def test_auto_is_cuda_then_mps_then_the_cpu():
    expected = "cuda" if torch.cuda.is_available() else "mps" if MPS else "cpu"
    assert devices.resolve("auto").type == expected
    assert devices.resolve("cpu") == torch.device("cpu")
    assert devices.resolve(None).type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: nothing to refuse")
@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_is_one_line_and_exit_2(name, capsys):
    assert main(["train", "--device", name, "--epochs", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA device" in err[0], err


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x"])
def test_unknown_device_names_are_refused(name):
    with pytest.raises(VaekitError, match="device"):
        devices.resolve(name)


@pytest.mark.skipif(MPS, reason="this machine has MPS: nothing to refuse")
def test_mps_without_mps_is_refused(capsys):
    assert main(["evaluate", "runs/none", "--device", "mps"]) == 2
    assert "no Apple MPS device" in capsys.readouterr().err


def test_training_on_the_named_cpu_resumes_draw_for_draw(tmp_path):
    """Two epochs in one go against one epoch, then a resume for the second: the same weights
    bit for bit (the batches' generator, torch's RNG and Adam all continue)."""
    straight = train(small(device="cpu"), tmp_path / "a", progress=False, final_eval=False)
    train(small(device="cpu", epochs=1), tmp_path / "b", progress=False, final_eval=False)
    resumed = train(None, tmp_path / "b", resume=True, epochs=2, progress=False,
                    final_eval=False, device="cpu")
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert straight.history[-1]["train_elbo"] == resumed.history[-1]["train_elbo"]
    assert straight.config.device == "cpu"


def test_batches_continue_from_a_saved_generator_state():
    x = torch.randint(0, 17, (50, 1, 8, 8), dtype=torch.uint8)
    a = Batches(x, 16, "binarize", 17, torch.Generator().manual_seed(3))
    first = [xb for xb in a]
    state = a.generator.get_state()
    second = [xb for xb in a]
    b = Batches(x, 16, "binarize", 17, torch.Generator().manual_seed(99))
    b.generator.set_state(state)
    assert all(torch.equal(u, v) for u, v in zip(second, b))
    assert not torch.equal(first[0], second[0])       # each epoch draws afresh
    assert a.x.dtype == torch.uint8                     # levels stay bytes on the device


def test_dequantized_batches_stay_in_their_level_bins():
    k = torch.arange(17, dtype=torch.uint8).repeat(40).reshape(40, 17)
    for rows, xb in Batches(k, 8, "dequantize", 17, 0).with_rows():
        levels = k[rows].float()
        assert ((xb >= levels / 17) & (xb < (levels + 1) / 17)).all()


def _bad_grad(model, value=float("nan")):
    for p in model.parameters():
        p.grad = torch.full_like(p, value)


def test_the_guard_decides_on_the_device_and_reads_back_every_few_steps():
    model, events = torch.nn.Linear(2, 2), []
    guard = Guard(patience=3, log=lambda record, message: events.append(record), every=4)
    loss = torch.tensor(1.0)
    _bad_grad(model, 1.0)
    ok = guard.check(model, loss)
    assert ok.dtype == torch.bool and ok.dim() == 0 and bool(ok)
    _bad_grad(model)
    for _ in range(2):
        assert not bool(guard.check(model, loss))
    assert guard.skipped == 0 and not events               # not read back yet
    _bad_grad(model)
    with pytest.raises(Diverged, match="3 non-finite steps in a row"):
        guard.check(model, loss)                            # the 4th check reads: 3 in a row
    assert guard.skipped == 3 and events[0]["event"] == "skipped_steps"
    assert events[0]["count"] == 3


def test_float16_overflows_are_the_scalers_not_faults():
    model, guard, limit = torch.nn.Linear(2, 2), Guard(patience=2), 20
    _bad_grad(model, float("inf"))
    for _ in range(limit):                                  # the scale halves each time
        assert not bool(guard.check(model, torch.tensor(1.0), overflow_limit=limit))
    assert guard.skipped == 0 and guard.scaler_skipped == limit
    guard.check(model, torch.tensor(1.0), overflow_limit=limit)   # no scale cured it: a fault
    with pytest.raises(Diverged):
        guard.check(model, torch.tensor(1.0), overflow_limit=limit)
    assert guard.skipped == 2


def test_a_skipped_step_leaves_weights_and_adam_state_untouched():
    """The fused optimizer skips on the device (found_inf): no host decision needed."""
    from vaekit.training.step import Step
    model = torch.nn.Linear(3, 1)
    step = Step(model, small(), 10, 1, Guard(patience=5, every=2), parallel=False)
    opt = precision.make_optimizer(model, 0.1)
    assert opt.defaults.get("fused")
    x = torch.ones(2, 3)
    assert bool(step.descend(model(x).sum(), model, opt))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: v.clone() for k, v in opt.state[model.weight].items()}
    taken = step.descend(model(x).sum() * float("nan"), model, opt)
    assert torch.is_tensor(taken) and not bool(taken)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(state[k], v) for k, v in opt.state[model.weight].items())


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


def test_the_e_step_check_noise_leaves_the_global_rng_where_it_was():
    """Each convergence check draws the same noise under a fixed seed and restores the RNG of
    the data's device (on a GPU, fork_rng(devices=[]) would have left CUDA's reseeded)."""
    cpu = torch.device("cpu")
    before = torch.get_rng_state()
    with devices.seeded(cpu, 5):
        a = torch.randn(4)
    assert torch.equal(torch.get_rng_state(), before)
    with devices.seeded(cpu, 5):
        assert torch.equal(torch.randn(4), a)
    model = load_model_for_estep()
    x = torch.bernoulli(torch.full((3, 1, 8, 8), 0.4))
    torch.manual_seed(1)
    fitted = optimize(model, x, torch.zeros(3, model.latent.param_size),
                      LocalOptimizer(max_iter=60, window=10))
    assert fitted.iterations <= 60 and torch.isfinite(fitted.params).all()


def load_model_for_estep():
    from vaekit import build_model
    torch.manual_seed(0)
    return build_model(tiny(), (1, 8, 8)).eval()


def test_commands_take_the_device(tmp_path, capsys):
    train(small(epochs=1), tmp_path / "r", progress=False)
    assert main(["evaluate", str(tmp_path / "r"), "--device", "cpu", "--k", "20", "--n",
                 "20"]) == 0
    out = capsys.readouterr().out
    assert "nll" in out and math.isfinite(float(out.split("nll ")[1].split()[0]))
    model, _ = load_model(tmp_path / "r", device="cpu")
    assert devices.of(model).type == "cpu"


def test_evaluation_chunks_keep_the_cpu_cache_size():
    from vaekit.evaluation import MAX_ROWS, rows_for
    model = load_model_for_estep()
    assert rows_for(model) == MAX_ROWS
    assert rows_for(model, 100) == 100
