"""On a CUDA GPU: every network x latent family x inference scheme trains a few steps; resume is
bit-exact on the same GPU; float16 and bfloat16 train Fashion-MNIST for 5 epochs with no rollback
and end within 1 nat of float32; GPU and CPU evaluation of the same weights agree within their
standard errors; two-process nccl data parallelism where there are two GPUs.

Where there is no CUDA device these tests are reported as skipped, with that reason: they did
not run, and are not counted as passed."""

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import vaekit
from vaekit import DataConfig, TrainConfig, devices, train
from vaekit.checkpoint import load_model
from vaekit.evaluation import log_likelihood
from vaekit.training import loss_fn, make_optimizer

from axes.test_grid import INFERENCE, LATENTS, NETWORKS, batch, model_config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device on this machine: the GPU tests did not run")
FASHION = Path("/usr/share/datasets/fashion-mnist")
CUDA = torch.device("cuda")


@pytest.mark.parametrize("network, latent, inference",
                         list(itertools.product(NETWORKS, LATENTS, INFERENCE)))
def test_every_combination_trains_on_the_gpu(network, latent, inference):
    config = TrainConfig(model=model_config(network, latent, "bernoulli", inference))
    torch.manual_seed(0)
    model = vaekit.build_model(config.model, (1, 28, 28)).to(CUDA)
    optimizer = make_optimizer(model, 1e-2)
    x = batch((1, 28, 28), "bernoulli").to(CUDA)
    init = torch.zeros(len(x), model.latent.param_size, device=CUDA)
    for _ in range(3):
        loss, values, _ = loss_fn(model, x, config, beta=1.0, init=init)
        assert loss.device.type == "cuda" and torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(p.device.type == "cuda" for p in model.parameters())


def small(**kw):
    base = dict(model=vaekit.ModelConfig(), data=DataConfig("digits"), epochs=2,
                batch_size=64, eval_k=100, eval_n=100, device="cuda")
    base.update(kw)
    return TrainConfig(**base)


def test_resume_is_bit_exact_on_the_same_gpu(tmp_path):
    straight = train(small(), tmp_path / "a", progress=False, final_eval=False)
    train(small(epochs=1), tmp_path / "b", progress=False, final_eval=False)
    resumed = train(None, tmp_path / "b", resume=True, epochs=2, progress=False,
                    final_eval=False)
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        assert a.device.type == "cuda" and torch.equal(a, b), name


@pytest.mark.skipif(not (FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="Fashion-MNIST is not installed (Debian: dataset-fashion-mnist)")
def test_half_precisions_train_fashion_mnist_within_a_nat_of_float32(tmp_path):
    nll = {}
    for precision in ("float32", "bfloat16", "float16"):
        config = TrainConfig(data=DataConfig("fashion-mnist"), epochs=5, precision=precision,
                             device="cuda", eval_k=1000, eval_n=1000)
        result = train(config, tmp_path / precision, progress=False)
        assert not (tmp_path / precision / "events.jsonl").exists(), precision   # no rollback
        nll[precision] = result.test["nll"]
    for precision in ("bfloat16", "float16"):
        assert abs(nll[precision] - nll["float32"]) < 1.0, nll


def test_gpu_and_cpu_evaluation_of_the_same_weights_agree(tmp_path):
    train(small(epochs=3), tmp_path / "r", progress=False, final_eval=False)
    x = vaekit.prepare(DataConfig("digits"), "bernoulli").test[:200]
    results = {}
    for device in ("cuda", "cpu"):
        model, _ = load_model(tmp_path / "r", device=device)
        torch.manual_seed(0)
        results[device] = log_likelihood(model, x, k=2000)
    gpu, cpu = results["cuda"], results["cpu"]
    d = gpu.per_example - cpu.per_example
    se = d.std().item() / math.sqrt(len(d))
    assert abs(d.mean().item()) <= 3 * se + 1e-6, (gpu.mean, cpu.mean, se)


def test_the_e_step_checks_leave_cudas_rng_where_it_was():
    before = torch.cuda.get_rng_state()
    with devices.seeded(CUDA, 5):
        a = torch.randn(4, device=CUDA)
    assert torch.equal(torch.cuda.get_rng_state(), before)
    with devices.seeded(CUDA, 5):
        assert torch.equal(torch.randn(4, device=CUDA), a)


@pytest.mark.skipif(torch.cuda.device_count() < 2,
                    reason="fewer than two CUDA devices: the nccl data-parallel test did not run")
def test_two_process_nccl_data_parallel(tmp_path):
    worker = Path(__file__).parent / "ddp_worker.py"
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc-per-node", "2", str(worker), str(tmp_path), "cuda"],
                       capture_output=True, text=True, timeout=600,
                       env={**os.environ, "NCCL_DEBUG": "WARN"})
    assert r.returncode == 0, r.stderr[-3000:]
    losses = [json.loads((tmp_path / f"losses-{rank}.json").read_text()) for rank in (0, 1)]
    assert len(losses[0]) == len(losses[1]) > 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert math.isfinite(metrics["test"]["nll"])
