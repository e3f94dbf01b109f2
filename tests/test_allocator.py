"""allocator.py: with glibc's thresholds raised, a conv VAE's training step stops faulting its
freed memory back in (about 9,000 minor page faults per step at batch 128 without it). Each
case runs in its own process: the setting is process-wide and cannot be undone."""

import json
import os
import platform
import subprocess
import sys

import pytest

STEPS = """
import json, resource, torch, vaekit
from vaekit import allocator
kept = allocator.keep_freed_memory()
torch.manual_seed(0)
torch.set_num_threads(1)
model = vaekit.build_model(vaekit.ModelConfig(network="conv"), (1, 28, 28))
opt = torch.optim.Adam(model.parameters())
x = (torch.rand(128, 1, 28, 28) < 0.3).float()
def step():
    q = model.posterior(x)
    loss = -(model.observation(q.rsample()).log_prob(x)).mean()
    opt.zero_grad(); loss.backward(); opt.step()
step(); step(); step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    step()
print(json.dumps({"kept": kept, "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 3}))
"""


def faults_per_step(keep: bool) -> dict:
    env = {**os.environ, "VAEKIT_KEEP_FREED_MEMORY": "1" if keep else "0"}
    out = subprocess.run([sys.executable, "-c", STEPS], env=env, capture_output=True, text=True,
                         timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_a_conv_step_no_longer_faults_its_memory_back_in():
    default, kept = faults_per_step(False), faults_per_step(True)
    assert not default["kept"] and kept["kept"]
    assert default["faults"] > 1000          # what glibc's defaults cost (about 9,000 here)
    assert kept["faults"] < default["faults"] / 20, (kept, default)
