"""The bad-input campaign (campaign.py beside this file) through the command line: each input
exits 2 with one line and no traceback, and overwrites nothing."""

from campaign import campaign
from cli.test_train import run
from conftest import answer, vaekit


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
