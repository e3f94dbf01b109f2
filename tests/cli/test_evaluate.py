"""`vaekit evaluate` (cli/evaluate.py), with sample and reconstruct on the same run."""

import json

from vaekit.cli import main

from cli.test_train import run


def test_evaluate_sample_reconstruct(run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run), "--k", "30", "--n", "12", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["nll_k"] == 30 and result["nll_n"] == 12 and result["n"] == 12
    assert "active_units" in capsys.readouterr().out
    assert main(["sample", str(run), "--n", "9", "--ncol", "3", "--out", str(tmp_path / "s.png")]) == 0
    assert main(["reconstruct", str(run), "--out", str(tmp_path / "r.png")]) == 0
    assert (tmp_path / "s.png").is_file() and (tmp_path / "r.png").is_file()
