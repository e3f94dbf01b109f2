"""A training process killed with SIGKILL, then resumed from the command line, ends with the
weights of the uninterrupted run (and the run folder's lock died with the process)."""

import os
import signal
import subprocess
import sys
import time

import torch

from vaekit import checkpoint
from vaekit.runs import LOCK, Run

from training.test_runstate import epochs_logged


def test_kill_minus_nine_then_resume_matches_the_uninterrupted_run(tmp_path):
    args = ["train", "--epochs", "12", "--latent-dim", "4", "--encoder-hidden", "16",
            "--decoder-hidden", "16", "--batch-size", "64", "--eval-k", "20", "--eval-n", "10",
            "--threads", "1", "--runs", str(tmp_path), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "vaekit", *args]
    straight = subprocess.run(cmd + ["--name", "straight"], env=env, capture_output=True,
                              text=True, timeout=120)
    assert straight.returncode == 0, straight.stderr
    proc = subprocess.Popen(cmd + ["--name", "killed"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    killed = tmp_path / "killed"
    deadline = time.time() + 60
    while not (killed / "metrics.jsonl").exists() or len(epochs_logged(killed)) < 3:
        assert time.time() < deadline and proc.poll() is None
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = epochs_logged(killed)[-1]
    assert done < 12                                              # it really was cut short
    assert (killed / LOCK).read_text() == f"{proc.pid}\n"          # its lock file, not its lock
    r = subprocess.run([sys.executable, "-m", "vaekit", "train", "--resume", str(killed),
                        "--no-progress"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert epochs_logged(killed) == list(range(1, 13))
    assert not (killed / LOCK).exists()
    a = checkpoint.read(Run(tmp_path / "straight").checkpoint(12)).tensors("model.safetensors")
    b = checkpoint.read(Run(killed).checkpoint(12)).tensors("model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
