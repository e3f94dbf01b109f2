"""`vaekit gaps` (cli/gaps.py): given a checkpoint, it writes into the checkpoint's run."""

import json

from vaekit.cli import main

from cli.test_train import run


def test_a_checkpoint_names_its_run_in_every_command(run, capsys):
    """What a command writes by default goes into the run folder, given the run or one of its
    checkpoints (gaps.json used to land in the checkpoint folder itself)."""
    assert main(["gaps", str(run / "best"), "--n", "4", "--k", "10", "--elbo-samples", "2",
                 "--max-iter", "20"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == str(run / "gaps.json")
    assert json.loads((run / "gaps.json").read_text())["checkpoint"] == str(run / "best")
    assert not (run / "best" / "gaps.json").exists()
