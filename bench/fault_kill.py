"""Fault test: kill -9 a training run at random moments, resume it each time, and compare the
end result with the same run left alone.

One uninterrupted `vaekit train` run; then the same command started, killed with SIGKILL after
a random delay, resumed with `vaekit train --resume`, killed again, ... --kills times, then
resumed to the end. After every kill it records what was lost: the epochs whose metrics were
logged before the kill minus the epoch of the newest complete checkpoint (the work redone,
beyond the epoch that was in progress). Prints one JSON line per kill and a summary: every
resume worked, the most work lost, and the final test ELBO and log p(x) of both runs (resume
restores every RNG state, so the two should agree exactly).

    python bench/fault_kill.py        # 20 kills, 400 epochs on digits, about 3 minutes
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vaekit import VaekitError, checkpoint
from vaekit.runs import Run


def logged_epochs(run: Path) -> int:
    path = run / "metrics.jsonl"
    if not path.exists():
        return 0
    n = 0
    for line in path.read_text().splitlines():
        try:
            n = max(n, json.loads(line)["epoch"])
        except (json.JSONDecodeError, KeyError):
            pass
    return n


def newest_checkpoint(run: Path) -> int | None:
    try:
        return checkpoint.latest(run).meta["epoch"]
    except VaekitError:
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--epochs", type=int, default=400)
    p.add_argument("--max-delay", type=float, default=1.0,
                   help="seconds: each kill comes this long at most after the restarted run "
                   "has logged its first epoch (so that it falls in training, not start-up)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("train_args", nargs="*", help="more `vaekit train` options, after --")
    args = p.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    root = Path(tempfile.mkdtemp(prefix="vaekit-faults-"))
    base = [sys.executable, "-m", "vaekit", "train", "--epochs", str(args.epochs), "--threads",
            "1", "--eval-n", "360", "--runs", str(root), "--no-progress", *args.train_args]
    start = time.perf_counter()
    subprocess.run(base + ["--name", "straight"], env=env, check=True, capture_output=True)
    straight_seconds = time.perf_counter() - start
    run = root / "killed"
    lost, resumes, previous = [], 0, 0
    for kill in range(args.kills):
        fresh = newest_checkpoint(run) is None          # killed before its first checkpoint
        cmd = (base + ["--name", "killed"]) if fresh else \
            [sys.executable, "-m", "vaekit", "train", "--resume", str(run), "--no-progress"]
        if fresh and run.exists():
            shutil.rmtree(run)
        start_logged = 0 if fresh else logged_epochs(run)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True)
        while proc.poll() is None and logged_epochs(run) <= start_logged:
            time.sleep(0.005)                   # wait until it trains
        delay = rng.uniform(0.0, args.max_delay)
        try:
            proc.wait(timeout=delay)
            finished = True
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            finished = False
        if finished and proc.returncode != 0:
            raise SystemExit(f"restart {kill} failed: {proc.stderr.read().strip()}")
        resumes += not fresh
        done, saved = logged_epochs(run), newest_checkpoint(run)
        lost.append(done - (saved or 0))
        print(json.dumps({"kill": kill + 1, "s_into_training": round(delay, 3),
                          "fresh_start": fresh,
                          "finished_before_kill": finished, "epochs_logged": done,
                          "epochs_trained_since_start": done - previous,
                          "newest_checkpoint": saved, "epochs_lost": lost[-1]}), flush=True)
        previous = saved or 0
        if finished:
            break
    r = subprocess.run([sys.executable, "-m", "vaekit", "train", "--resume", str(run),
                        "--no-progress"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"final resume failed: {r.stderr.strip()}")
    a = json.loads((root / "straight" / "metrics.json").read_text())["test"]
    b = json.loads((run / "metrics.json").read_text())["test"]
    wa = checkpoint.read(Run(root / "straight").checkpoint(args.epochs))
    wb = checkpoint.read(Run(run).checkpoint(args.epochs))
    same = wa.meta["sha256"]["model.safetensors"] == wb.meta["sha256"]["model.safetensors"]
    print(json.dumps({
        "kills": len(lost), "resumes": resumes + 1, "all_resumed": True,
        "max_epochs_lost": max(lost), "epochs": args.epochs,
        "epochs_logged": logged_epochs(run), "straight_seconds": round(straight_seconds, 1),
        "straight_test_elbo": round(a["elbo"], 4), "killed_test_elbo": round(b["elbo"], 4),
        "straight_test_nll": round(a["nll"], 4), "killed_test_nll": round(b["nll"], 4),
        "nll_se": round(a["nll_se"], 4), "final_weights_identical": same}))
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
