"""Data-parallel training (two processes under torchrun, gloo on CPU) against one process."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vaekit import build_model, training
from vaekit.data import Batches, prepare

sys.path.insert(0, str(Path(__file__).parent))
from ddp_worker import config  # noqa: E402


def torchrun(*args, cwd=None):
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc-per-node", "2", *args],
                       capture_output=True, text=True, timeout=300, cwd=cwd)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    torchrun(str(Path(__file__).parent / "ddp_worker.py"), str(out))
    return out


def one_process_reference(steps: int) -> list[float]:
    """The same global batches in one process, each split as the two processes split it, with
    each half's noise drawn from the generator that process uses: the loss DDP minimises."""
    cfg = config()
    splits = prepare(cfg.data, "bernoulli")
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, splits.event_shape)
    generators = [torch.get_rng_state(), torch.manual_seed(cfg.seed + 7919).get_state()]
    optimizer = training.make_optimizer(model, cfg.lr)
    batches = Batches(splits.train, cfg.batch_size, splits.preprocess, splits.levels,
                      torch.Generator().manual_seed(cfg.seed))
    out = []
    for _, (_, xb) in zip(range(steps), batches.with_rows()):
        halves = []
        for rank in (0, 1):
            torch.set_rng_state(generators[rank])
            halves.append(training.loss_fn(model, xb[rank::2], cfg, cfg.beta)[0])
            generators[rank] = torch.get_rng_state()
        loss = (halves[0] + halves[1]) / 2          # DDP averages the two processes' gradients
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        out.append(loss.item())
    return out


def test_two_processes_follow_the_one_process_trajectory(ddp_run):
    ranks = [json.loads((ddp_run / f"losses-{r}.json").read_text()) for r in (0, 1)]
    assert len(ranks[0]) == len(ranks[1]) > 10
    ddp = [(a[0] + b[0]) / 2 for a, b in zip(*ranks)]
    assert all(a[1] + b[1] == 64 for a, b in list(zip(*ranks))[:-1])   # one global batch
    reference = one_process_reference(10)
    np.testing.assert_allclose(ddp[:10], reference, rtol=1e-5)
    # the processes drew different noise: their losses differ although their weights agree
    assert ranks[0][0][0] != ranks[1][0][0]


def test_only_rank_zero_writes_and_evaluation_is_sharded(ddp_run, tmp_path):
    run = ddp_run / "run"
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1]            # written once, not twice
    test = json.loads((run / "metrics.json").read_text())["test"]
    # the sharded evaluation covered every test image
    assert test["n"] == test["nll_n"] == 360
    one = training.train(config(), tmp_path / "one", progress=False)
    # after one epoch, one process and two agree within the Monte Carlo noise of training
    assert abs(test["elbo"] - one.test["elbo"]) < 3 * (test["elbo_se"] + one.test["elbo_se"])
    assert abs(test["nll"] - one.test["nll"]) < 3 * (test["nll_se"] + one.test["nll_se"])


def test_torchrun_cli(tmp_path):
    r = torchrun("-m", "vaekit", "train", "--epochs", "2", "--latent-dim", "4",
                 "--encoder-hidden", "32", "--decoder-hidden", "32", "--eval-k", "20",
                 "--threads", "1", "--name", "r", "--runs", str(tmp_path), "--no-progress")
    assert r.stdout.count("test ELBO") == 1                          # printed by rank 0 only
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoints").iterdir()) == [
        "epoch-000000", "epoch-000001", "epoch-000002"]


def test_schemes_without_data_parallelism_are_refused_under_torchrun(tmp_path, monkeypatch):
    """Refused before the process group is joined (no peer needed to say so)."""
    from vaekit import TrainConfig, VaekitError, train
    from conftest import tiny
    monkeypatch.setenv("WORLD_SIZE", "2")
    config = TrainConfig(model=tiny(inference="vem"), epochs=1)
    with pytest.raises(VaekitError, match="distributed training is available"):
        train(config, tmp_path / "r", progress=False)
