"""The training loop (training/loop.py): which process holds the run folder."""

import sys

import pytest

from vaekit import VaekitError
from vaekit.runs import LOCK
from vaekit.training import loop


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl's lock")
def test_process_zero_alone_holds_the_run_folder(tmp_path, monkeypatch):
    import fcntl
    seen = []
    monkeypatch.setattr(loop, "_train", lambda *args: seen.append((tmp_path / "r").exists()))
    monkeypatch.setenv("RANK", "1")             # torchrun's other processes: no lock, no folder
    loop.train(None, tmp_path / "r")
    assert seen == [False] and not any(tmp_path.iterdir())
    monkeypatch.setenv("RANK", "0")
    loop.train(None, tmp_path / "r")            # process 0: the folder made and locked first
    assert seen == [False, True] and not any(tmp_path.iterdir())
    (tmp_path / "r").mkdir()
    with open(tmp_path / "r" / LOCK, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(VaekitError, match="is in use by another vaekit process"):
            loop.train(None, tmp_path / "r", resume=True)
        monkeypatch.setenv("RANK", "1")
        loop.train(None, tmp_path / "r", resume=True)
    assert seen == [False, True, True]
