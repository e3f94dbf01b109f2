"""Run by tests/test_distributed.py (gloo, CPU) and tests/test_gpu.py (nccl, one GPU per
process) under torchrun: trains the small digits model data-parallel on the device named by
the second argument (default cpu) and writes, from each process, the loss of every step it
took (losses-<rank>.json)."""

import json
import sys
from pathlib import Path

import torch

from vaekit import distributed, training
from vaekit.config import DataConfig, TrainConfig

sys.path.insert(0, str(Path(__file__).parent))
from conftest import tiny  # noqa: E402

out = Path(sys.argv[1])
losses = []
forward = training.LossModule.forward


def recording_forward(self, x, beta, init=None):
    result = forward(self, x, beta, init)
    losses.append([result[0].item(), len(x)])
    return result


training.LossModule.forward = recording_forward


def config(device: str = "cpu") -> TrainConfig:
    return TrainConfig(model=tiny(hidden=32),
                       data=DataConfig("digits"), epochs=1, batch_size=64, eval_k=50,
                       eval_n=None, threads=1, device=device)


if __name__ == "__main__":
    torch.set_num_threads(1)
    training.train(config(*sys.argv[2:3]), out / "run", progress=False)
    (out / f"losses-{distributed.rank()}.json").write_text(json.dumps(losses))
    distributed.shutdown()
