"""The command line: a short end-to-end run, and bad input giving one line and exit 2."""

import json
import os
import subprocess
import sys

import pytest

from vaekit.cli import main

import campaign

TINY = ["--epochs", "2", "--latent-dim", "4", "--encoder-hidden", "16",
        "--decoder-hidden", "16", "--eval-k", "20", "--eval-n", "10", "--no-progress"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    assert main(["train", "--runs", str(runs), "--name", "demo", *TINY]) == 0
    return runs / "demo"


def test_train_writes_a_complete_run(run, capsys):
    assert (run / "samples.png").stat().st_size > 0
    assert (run / "reconstructions.png").stat().st_size > 0
    assert json.loads((run / "metrics.json").read_text())["dataset"] == "digits"


def test_evaluate_sample_reconstruct(run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run), "--k", "30", "--n", "12", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["nll_k"] == 30 and result["nll_n"] == 12 and result["n"] == 12
    assert "active_units" in capsys.readouterr().out
    assert main(["sample", str(run), "--n", "9", "--ncol", "3", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["reconstruct", str(run), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "s.png").is_file() and (tmp_path / "r.png").is_file()


def test_a_checkpoint_names_its_run_in_every_command(run, capsys):
    """What a command writes by default goes into the run folder, given the run or one of its
    checkpoints (gaps.json used to land in the checkpoint folder itself)."""
    assert main(["gaps", str(run / "best"), "--n", "4", "--k", "10", "--elbo-samples", "2",
                 "--max-iter", "20"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(run / "gaps.json")
    assert json.loads((run / "gaps.json").read_text())["checkpoint"] == str(run / "best")
    assert not (run / "best" / "gaps.json").exists()


def test_resume_extends_a_finished_run(run):
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3]


def vaekit(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "vaekit", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120, cwd=cwd)


def answer(args, env, monkeypatch, capsys):
    """(exit status, stderr) of `vaekit args` run in this process."""
    with monkeypatch.context() as m:
        for key, value in (env or {}).items():
            m.setenv(key, value)
        try:
            code = main(args)
        except SystemExit as e:             # argparse's own exit
            code = e.code
    return code, capsys.readouterr().err


def test_bad_input_gives_one_line_and_nonzero_exit(run, tmp_path, monkeypatch, capsys):
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    cases = campaign.cases(tmp_path, run)
    assert len(cases) >= 30
    work = tmp_path / "work"                 # where runs/<name> of a failed train would go
    work.mkdir()
    monkeypatch.chdir(work)
    for args, env, message in cases:
        code, err = answer(args, env, monkeypatch, capsys)
        lines = err.strip().splitlines()
        assert code == 2, (args, err)
        assert "Traceback" not in err, args
        assert len(lines) == 1 and message in lines[0], (args, err)
    assert before == {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert not any(work.rglob("*")), list(work.rglob("*"))    # no empty run folder left
    # and as separate processes: the exit status and the single line reach the shell
    for args, env, message in [cases[0], cases[14], cases[22]]:
        r = vaekit(*args, env=env)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and message in r.stderr, r.stderr


def test_help_for_every_command():
    for cmd in ("train", "evaluate", "sample", "reconstruct", "traverse"):
        r = vaekit(cmd, "--help")
        assert r.returncode == 0 and "usage: vaekit" in r.stdout
