"""The run folder (runs.py): its layout, its metrics written and read back byte for byte as
vaekit always wrote them, and which paths are runs and which are checkpoints, on new folders
and on the runs vaekit 0.1 wrote (tests/fixtures/v1-runs)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import vaekit
from vaekit import VaekitError, runs
from vaekit.runs import Run, checkpoint_folder, is_checkpoint

OLD = Path(__file__).parent / "fixtures" / "v1-runs" / "gaussian"


def checkpoint_at(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "meta.json").write_text("{}")
    return folder


def test_layout(tmp_path):
    run = Run(tmp_path / "r")
    assert run.best == tmp_path / "r" / "best"
    assert run.checkpoint(3) == tmp_path / "r" / "checkpoints" / "epoch-000003"
    assert run.config_file == tmp_path / "r" / "config.toml"
    assert run.figures == tmp_path / "r" / "figures"
    assert run.file(runs.GAPS) == tmp_path / "r" / "gaps.json"
    assert run.name == "r" and not run.exists()


def test_metrics_round_trip_in_the_format_vaekit_always_wrote(tmp_path):
    run = Run(tmp_path)
    records = [{"epoch": 1, "train_elbo": -80.5, "seconds": 0.25}, {"epoch": 2, "lr": 1e-3}]
    assert run.metrics() == [] and run.summary() == {}
    for record in records:
        run.append_metrics(record)
    assert run.metrics() == records
    assert (tmp_path / "metrics.jsonl").read_text() == "".join(json.dumps(r) + "\n"
                                                               for r in records)
    summary = {"dataset": "digits", runs.BEST_EPOCH: 2, runs.TEST: {runs.TEST_KL: 1.5}}
    run.write_summary(summary)
    assert run.summary() == summary
    assert (tmp_path / "metrics.json").read_text() == json.dumps(summary, indent=1)
    run.log_event({"event": "rollback"})
    assert (tmp_path / "events.jsonl").read_text() == '{"event": "rollback"}\n'
    assert run.exists()


def test_a_damaged_summary_is_one_line_of_error(tmp_path):
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(VaekitError, match="metrics.json: unreadable"):
        Run(tmp_path).summary()


def test_trimming_keeps_the_epochs_a_checkpoint_covers(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"epoch": 1}\n{"epoch": 2}\n{"epoch": 3}\n{"epo')     # a crash mid-line
    Run(tmp_path).trim_metrics(2)
    assert log.read_text() == '{"epoch": 1}\n{"epoch": 2}\n'


def test_checkpoints_newest_first_pruned_and_the_legacy_last(tmp_path):
    run = Run(tmp_path)
    for epoch in (1, 2, 3):
        checkpoint_at(run.checkpoint(epoch))
    half_written = checkpoint_at(tmp_path / "checkpoints" / ".epoch-000004.tmp-1")
    assert run.checkpoints() == [run.checkpoint(3), run.checkpoint(2), run.checkpoint(1)]
    run.prune(2)
    assert run.checkpoints() == [run.checkpoint(3), run.checkpoint(2)]
    assert not half_written.exists()
    old = Run(tmp_path / "old")
    checkpoint_at(tmp_path / "old" / "last")                # vaekit before 0.2
    assert old.checkpoints() == [tmp_path / "old" / "last"] and old.exists()


def test_a_run_and_its_checkpoints(tmp_path):
    run = Run(tmp_path / "r")
    epoch = checkpoint_at(run.checkpoint(2))
    assert not is_checkpoint(run.path) and is_checkpoint(epoch)
    assert checkpoint_folder(run.path) == epoch                   # no best yet: the newest
    best = checkpoint_at(run.best)
    assert checkpoint_folder(run.path) == best and checkpoint_folder(epoch) == epoch
    for path in (run.path, best, epoch):                          # every one names its run
        assert Run.of(path).path == run.path
    standalone = checkpoint_at(tmp_path / "ck")
    assert Run.of(standalone).path == tmp_path


def test_a_checkpoint_caught_mid_replacement_is_found_aside(tmp_path):
    run = Run(tmp_path)
    aside = checkpoint_at(runs.aside(run.best))
    assert aside.name == ".best.old"
    assert checkpoint_folder(run.path) == aside == checkpoint_folder(run.best)
    assert Run.of(run.best).path == tmp_path


def test_what_is_not_a_run(tmp_path):
    with pytest.raises(VaekitError, match="no such run or checkpoint"):
        checkpoint_folder(tmp_path / "missing")
    with pytest.raises(VaekitError, match=r"not a vaekit run or checkpoint \(no meta.json\)"):
        checkpoint_folder(tmp_path)


def test_an_old_run_reads_as_it_is():
    run = Run(OLD)
    assert run.exists() and checkpoint_folder(OLD) == OLD / "best"
    assert run.checkpoints() == [OLD / "checkpoints" / "epoch-000002"]
    assert Run.of(OLD / "checkpoints" / "epoch-000002").path == OLD == Run.of(OLD / "best").path
    summary = run.summary()
    assert summary[runs.BEST_EPOCH] == 2 and summary[runs.TEST][runs.TEST_NLL] > 0
    assert run.metrics() == []                              # it kept no per-epoch log


def test_an_old_runs_best_score_carries_on(tmp_path):
    """vaekit 0.3.0 and before stored the best validation score as best_valid_elbo; a resumed
    run reads it and writes best_valid_score."""
    old = json.loads((OLD / "checkpoints" / "epoch-000002" / "meta.json").read_text())
    before = old["trainer"]["best_valid_elbo"]
    shutil.copytree(OLD, tmp_path / "old")
    result = vaekit.train(None, tmp_path / "old", resume=True, epochs=3, progress=False,
                          final_eval=False)
    meta = json.loads((Run(tmp_path / "old").checkpoint(3) / "meta.json").read_text())
    assert meta["trainer"]["best_valid_score"] == max(before, result.history[-1]["valid_elbo"])
    assert "best_valid_elbo" not in meta["trainer"]


HOLD = ("import sys, time; from vaekit.runs import Run\n"
        "with Run(sys.argv[1]).hold(resume=sys.argv[2] == 'resume'):\n"
        "    print('held', flush=True); time.sleep(float(sys.argv[3]))\n")


def hold_elsewhere(folder, resume=False, seconds=60):
    """Another process holding `folder` (once it has said so)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder),
                             "resume" if resume else "new", str(seconds)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "held\n", proc.stderr.read()
    return proc


def test_a_run_folder_is_held_by_one_process(tmp_path):
    folder = tmp_path / "runs" / "r"
    other = hold_elsewhere(folder)
    try:
        assert (folder / runs.LOCK).read_text() == f"{other.pid}\n"
        for resume, advice in [(False, "give another --name"), (True, "before resuming")]:
            with pytest.raises(VaekitError) as e, Run(folder).hold(resume):
                pass
            message = str(e.value)
            assert message.startswith(f"{folder} is in use by another vaekit process (pid "
                                      f"{other.pid}); wait for it") and advice in message
        assert (folder / runs.LOCK).exists()          # the refused one took nothing away
    finally:
        other.kill()
        other.wait()
    # killed while holding it: the file stays, the lock died with the process
    assert (folder / runs.LOCK).exists()
    with Run(folder).hold(resume=True):
        assert (folder / runs.LOCK).read_text() == f"{os.getpid()}\n"
        with Run(folder).hold(resume=True):           # this process's already: held on
            pass
        assert (folder / runs.LOCK).exists()
        (folder / "metrics.jsonl").write_text("")
    assert sorted(p.name for p in folder.iterdir()) == ["metrics.jsonl"]   # no lock left


def test_holding_a_new_folder_that_gets_nothing_leaves_no_folder(tmp_path):
    with Run(tmp_path / "runs" / "r").hold():
        assert (tmp_path / "runs" / "r" / runs.LOCK).is_file()
    assert list(tmp_path.iterdir()) == []             # nor the runs/ folder it made
    (tmp_path / "kept").mkdir()
    with Run(tmp_path / "kept").hold():
        pass
    assert (tmp_path / "kept").is_dir()               # a folder it did not make stays
    with Run(tmp_path / "missing").hold(resume=True):  # nothing to resume: not made
        assert not (tmp_path / "missing").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(VaekitError, match="not a folder"), Run(tmp_path / "file").hold():
        pass
