"""The bad-input campaign (tests/campaign/campaign.py) run through the command line, one process per
case: prints each input, the exit status and the one line vaekit answered with, then the count.

    python bench/bad_inputs.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from campaign import campaign  # noqa: E402  (tests/campaign/campaign.py)


def vaekit(args, env=None):
    return subprocess.run([sys.executable, "-m", "vaekit", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=300)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="vaekit-bad-"))
    r = vaekit(["train", "--epochs", "2", "--latent-dim", "4", "--eval-k", "20", "--eval-n", "10",
                "--runs", str(root), "--name", "run", "--no-progress"])
    assert r.returncode == 0, r.stderr
    run = root / "run"
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    cases = campaign.cases(root, run)
    good = 0
    for args, env, expected in cases:
        r = vaekit(args, env)
        lines = r.stderr.strip().splitlines()
        ok = (r.returncode == 2 and len(lines) == 1 and expected in lines[0]
              and "Traceback" not in r.stderr)
        good += ok
        shown = " ".join(a.replace(str(root) + "/", "") for a in args)
        print(json.dumps({"input": shown, **({"env": list(env)} if env else {}),
                          "exit": r.returncode, "answer": lines[0] if lines else "", "ok": ok}))
    untouched = before == {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    print(json.dumps({"cases": len(cases), "answered_with_one_line_and_exit_2": good,
                      "existing_run_untouched": untouched}))


if __name__ == "__main__":
    main()
