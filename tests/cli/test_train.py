"""`vaekit train` (cli/train.py): a short run, resuming a finished run, each importance-weighted
objective and gradient estimator for an epoch, and posterior collapse named; a run folder held
by one process; a resume that would not train refused; a flow posterior's run, and its options."""

import json
import os
import subprocess
import sys

import pytest

from vaekit import config_file
from vaekit.cli import build_parser, main
from vaekit.cli.train import collapse_note
from vaekit.runs import LOCK

from test_config_file import TINY, train
from training.test_runstate import epochs_logged

if sys.platform != "win32":
    import fcntl


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


def test_resume_extends_a_finished_run(run):
    assert main(["train", "--resume", str(run), "--epochs", "3", "--no-progress"]) == 0
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(l)["epoch"] for l in lines] == [1, 2, 3]


@pytest.mark.parametrize("args, names", [
    (["--objective", "iwae", "--k", "3", "--gradient", "dreg"], ["train_iwae3"]),
    (["--objective", "miwae", "--m", "2", "--k", "2"], ["train_miwae2x2"]),
    (["--objective", "ciwae", "--k", "3", "--ciwae-beta", "0.3"], ["train_ciwae3"]),
    (["--objective", "piwae", "--m", "2", "--k", "3"], ["train_iwae6", "train_miwae2x3"]),
    (["--objective", "piwae", "--m", "2", "--k", "2", "--gradient", "dreg"],
     ["train_iwae4", "train_miwae2x2"]),
], ids=lambda a: "-".join(a[1::2]) if "--objective" in a else None)
def test_each_objective_trains_an_epoch_and_is_in_the_help(tmp_path, args, names):
    help_text = " ".join(build_parser().commands["train"].format_help().split())
    assert f"| {args[1]} (" in help_text and all(flag in help_text for flag in args[::2])
    run = train(tmp_path, "r", *TINY, "--epochs", "1", "--batch-size", "512", *args)
    record = json.loads((run / "metrics.jsonl").read_text())
    assert [k for k in record if k.startswith("train_")] == names
    assert all(-1e4 < record[k] < 0 for k in names)
    if len(names) == 2:      # piwae: IWAE_MK >= MIWAE(M, K) over the same draws, per example
        assert record[names[0]] >= record[names[1]]
    settings = config_file.read(run / "config.toml")
    assert {k: settings[k] for k in ("objective", "k", "m", "gradient")} == {
        "objective": args[1], "k": int(args[args.index("--k") + 1]),
        "m": int(args[args.index("--m") + 1]) if "--m" in args else 1,
        "gradient": "dreg" if "dreg" in args else "standard"}


def test_posterior_collapse_is_named(tmp_path, capsys):
    capsys.readouterr()
    train(tmp_path, "collapsed", *TINY, "--beta", "20", "--epochs", "4")
    out = capsys.readouterr().out
    assert "posterior collapse" in out and "--free-bits" in out and "--warmup-epochs" in out
    healthy = {"kl": 12.0, "active_units": 9, "latent_dim": 10}
    assert collapse_note(healthy) is None
    assert "posterior collapse" in collapse_note({**healthy, "kl": 0.01})
    assert "0/10 active" in collapse_note({**healthy, "active_units": 0})


@pytest.mark.parametrize("labels", [
    ["--labels", "100", "--classes", "5"],       # labels 0..9 of digits do not fit 5 classes
    ["--labels", "5"],                           # fewer labelled examples than classes
    ["--labels", "100000"],                      # more than the training examples
])
def test_a_label_problem_leaves_no_run_folder(tmp_path, capsys, labels):
    code = main(["train", "--runs", str(tmp_path), "--name", "m2", "--latent", "joint",
                 *labels, *TINY])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert not (tmp_path / "m2").exists() and not any(tmp_path.iterdir())


def test_labels_on_unlabelled_data_is_one_line(tmp_path, capsys):
    import numpy as np
    np.savez(tmp_path / "x.npz", train=np.zeros((30, 4), dtype=np.float32))
    code = main(["train", "--dataset", str(tmp_path / "x.npz"), "--runs", str(tmp_path / "r"),
                 "--latent", "joint", "--labels", "10", *TINY])
    err = capsys.readouterr().err
    assert code == 2 and "a .npz needs a 'train_labels' array" in err, err
    assert not (tmp_path / "r").exists()


def test_two_trains_started_together_give_one_run(tmp_path):
    cmd = [sys.executable, "-m", "vaekit", "train", "--name", "same", "--runs", str(tmp_path),
           "--epochs", "3", "--eval-k", "20", "--eval-n", "50", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    ends = [(p.pid, *p.communicate(timeout=300), p.returncode) for p in procs]
    assert sorted(code for *_, code in ends) == [0, 2], ends
    (winner, *_), (_, _, err, _) = sorted(ends, key=lambda e: e[-1])
    folder = tmp_path / "same"
    assert err == (f"vaekit: error: {folder} is in use by another vaekit process (pid {winner}); "
                   "wait for it or give another --name\n")
    assert epochs_logged(folder) == [1, 2, 3]
    config = config_file.read(folder / "config.toml")
    best = json.loads((folder / "best" / "meta.json").read_text())["config"]
    assert config["seed"] == best["seed"] and config["epochs"] == best["epochs"] == 3
    assert not (folder / LOCK).exists()


def test_resume_refuses_fewer_epochs_than_the_run_has_trained(run, capsys):
    reached = epochs_logged(run)[-1]
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    args = ["train", "--resume", str(run), "--epochs", str(reached - 1), "--no-progress"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"vaekit: error: {run} has trained {reached} epochs; --epochs {reached - 1} would not "
        f"train; give --epochs {reached + 1} or more to continue\n")
    assert before == {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl's lock")
def test_resume_refuses_a_run_another_process_holds(run, capsys):
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with open(run / LOCK, "w") as held:      # as a training process holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("12345\n")
        held.flush()
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--epochs", "9", "--no-progress"]) == 2
    assert capsys.readouterr().err == (
        f"vaekit: error: {run} is in use by another vaekit process (pid 12345); wait for it "
        "to finish before resuming\n")
    (run / LOCK).unlink()
    assert before == {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}


def test_a_flow_posterior_trains_and_every_command_takes_its_run(tmp_path, capsys):
    flow = train(tmp_path, "iaf", *TINY, "--epochs", "1", "--flow", "iaf", "--flow-steps", "2",
                 "--flow-width", "8")
    out = capsys.readouterr().out
    assert "the KL too: log q(z) - log p(z)" in out               # a one-sample KL, said so
    test = json.loads((flow / "metrics.json").read_text())["test"]
    assert test["kl_sampled"] is True and test["log_px"] < 0
    assert config_file.read(flow / "config.toml")["model"]["latent"]["flow"] == "iaf"
    for command, *options in (["evaluate", "--k", "20", "--n", "10"], ["reconstruct"],
                              ["sample", "--n", "4"], ["figures"],
                              ["gaps", "--n", "4", "--k", "10", "--elbo-samples", "2",
                               "--max-iter", "20"]):
        assert main([command, str(flow), *options, "--no-progress"]) == 0, command


def test_flow_options_in_help_and_refused_where_they_do_not_apply(tmp_path, capsys):
    from vaekit.cli import build_parser
    text = " ".join(build_parser().commands["train"].format_help().split())
    for flag in ("--flow {none,planar,iaf}", "--flow-steps", "--flow-width"):
        assert flag in text, flag
    for args, says in [(["--latent", "hierarchical", "--flow", "iaf"],
                        "--flow does not apply to this model"),
                       (["--flow-steps", "3"], "give --flow planar or --flow iaf"),
                       (["--model", "ae", "--flow", "planar"], "without --flow")]:
        code = main(["train", "--runs", str(tmp_path), *args, *TINY])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and says in err, err
    assert not any(tmp_path.iterdir())


def test_print_config_names_the_likelihood_the_data_choose(capsys):
    capsys.readouterr()
    assert main(["train", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert ('[model]\nkind = "vae"\n# likelihood not given: "bernoulli" for this data '
            "(digits, [1, 8, 8], 17 levels; likelihoods.default_for)\n") in out
    printed = config_file.tomllib.loads(out)
    assert "likelihood" not in printed["model"]         # still chosen from the data if reused
    assert main(["train", "--dataset", "photo-patches", "--print-config"]) == 0
    assert '# likelihood not given: "gaussian" for this data (photo-patches' in \
        capsys.readouterr().out
    assert main(["train", "--dataset", "mnist", "--print-config"]) == 0   # no download
    assert "chosen from the data when training loads mnist" in capsys.readouterr().out
    for given in (["--likelihood", "gaussian"], ["--model", "gan"]):
        assert main(["train", *given, "--print-config"]) == 0
        assert "likelihood not given" not in capsys.readouterr().out


def test_ctrl_c_says_how_to_continue_and_that_command_resumes(tmp_path, capsys, monkeypatch):
    from vaekit.training.runstate import RunState
    end_epoch = RunState.end_epoch

    def interrupted_after_epoch_2(self, *args, **kwargs):
        end_epoch(self, *args, **kwargs)
        if self.epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunState, "end_epoch", interrupted_after_epoch_2)
    run = tmp_path / "runs" / "cut"
    capsys.readouterr()
    assert main(["train", "--runs", str(tmp_path / "runs"), "--name", "cut", *TINY,
                 "--epochs", "3"]) == 130
    command = f"vaekit train --resume {run}"
    assert capsys.readouterr().err == ("vaekit: interrupted (last checkpoint: epoch 2); "
                                       f"continue with: {command}\n")
    monkeypatch.setattr(RunState, "end_epoch", end_epoch)
    assert main([*command.split()[1:], "--no-progress"]) == 0
    assert epochs_logged(run) == [1, 2, 3]


def test_ctrl_c_before_a_checkpoint_says_to_start_again(tmp_path, capsys, monkeypatch):
    import vaekit.cli.train as cli_train

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_train, "train", interrupted)
    capsys.readouterr()
    assert main(["train", "--runs", str(tmp_path), "--name", "early", *TINY]) == 130
    assert capsys.readouterr().err == (f"vaekit: interrupted before {tmp_path / 'early'} had a "
                                       "checkpoint; start it again (no --resume)\n")
