"""The device as an option (devices.py) on the CPU: resolution and refusals, training and
resume with --device cpu named, the commands' --device, and the RNG fork of the E-step's checks.
(The batches' generator: data/test_batching.py; the guard on the device: training/test_guard.py;
float16 with its loss scale: training/test_precision.py.)"""

import math

import pytest
import torch

from vaekit import DataConfig, devices, train, TrainConfig
from vaekit.checkpoint import load_model
from vaekit.cli import main
from vaekit.errors import VaekitError
from vaekit.inference.local import LocalOptimizer, optimize

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
