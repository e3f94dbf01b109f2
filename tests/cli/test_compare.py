"""`vaekit compare` (cli/compare.py): it writes into a new folder under runs/."""

import re

from vaekit.cli import main

from test_progress import bars, RATE, run, tiny_classifier


def test_compare_writes_into_a_new_folder_under_runs(run, tiny_classifier, tmp_path,
                                                     monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("VAEKIT_PROGRESS", "1")
    assert main(["compare", str(run), "--n", "40"]) == 0
    out = capsys.readouterr()
    folders = list((work / "runs").glob("compare-*"))
    assert [p.name for p in work.iterdir()] == ["runs"] and len(folders) == 1
    assert re.fullmatch(r"compare-\d{8}-\d{6}", folders[0].name)
    assert (folders[0] / "compare.json").is_file() and str(folders[0].relative_to(work)) in out.out
    assert re.search(r"compare: 40 samples per run: .*/1 " + RATE.format("run"), out.err)


def test_compare_no_fid_trains_no_classifier(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAEKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["compare", str(run), "--n", "40", "--no-fid", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert not list((tmp_path / "cache").rglob("*classifier*")) and \
        not list((tmp_path / "cache").rglob("*.safetensors"))
    row = printed.out.splitlines()[1].split()
    assert row[-4:-1] == ["-", "-", "-"] and "FID skipped (--no-fid)" in printed.out
    assert "feature classifier" not in printed.err
    assert (out / "compare.png").is_file() and "named at its left" in printed.out
