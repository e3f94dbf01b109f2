"""The example scripts run as a user runs them (a fresh process, another working folder, a tiny
budget) and make what they promise; `vaekit --version` and `python -m vaekit` work."""

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import vaekit

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def run(args, cwd, timeout=600):
    out = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, f"{args} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def numbers(text: str) -> list[float]:
    """Every decimal number printed; 'nan' or 'inf' anywhere fails the test."""
    assert not re.search(r"\b(nan|inf)\b", text, flags=re.I), text
    return [float(v) for v in re.findall(r"-?\d+\.\d+", text)]


def example(name, tmp, *args):
    return run([EXAMPLES / name, "--epochs", 1, "--eval-k", 10, *args], cwd=tmp)


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    return tmp / "run", example("python_api.py", tmp, "--out", "run")


def test_python_api_trains_loads_scores_and_samples(api_run):
    folder, out = api_run
    for name in ("metrics.json", "metrics.jsonl", "best/model.safetensors",
                 "example-samples.png"):
        assert (folder / name).is_file(), name
    elbo = re.search(r"ELBO of 100 test digits: (-?\d+\.\d+) nats", out)
    assert elbo and -200 < float(elbo.group(1)) < 0, out
    assert all(map(math.isfinite, numbers(out)))


def test_read_metrics_prints_the_table_and_draws_the_curve(api_run, tmp_path):
    folder, _ = api_run
    out = run([EXAMPLES / "read_metrics.py", folder, "--out", "curve.png"], cwd=tmp_path)
    assert re.search(r"^\s+1\s+-\d+\.\d+\s+-\d+\.\d+\s+\d+\.\d+$", out, flags=re.M), out
    assert re.search(r"^\s+elbo -\d+\.\d+$", out, flags=re.M) and " nll " in out, out
    assert all(map(math.isfinite, numbers(out)))
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_custom_network_example_trains_and_loads_the_users_modules(tmp_path):
    out = example("custom_network.py", tmp_path, "--out", "mine")
    assert "loaded: Encoder Decoder" in out
    meta = (tmp_path / "mine/best/meta.json").read_text()
    assert '"custom"' in meta and '"Encoder"' in meta and '"Decoder"' in meta
    assert (tmp_path / "mine/samples.png").is_file()
    assert all(map(math.isfinite, numbers(out)))


def test_colour_example_reports_bits_per_dim(tmp_path):
    out = example("colour_data.py", tmp_path, "--eval-n", 20, "--out", "colour")
    found = re.search(r"test: (\d+\.\d+) bits/dim .*ELBO (\d+\.\d+) bits/dim, on 20 patches", out)
    assert found, out
    nll, elbo = map(float, found.groups())
    assert 0 < nll < 9 and 0 < elbo < 9          # 8 bits/dim is a uniform guess over 256 levels
    assert "discrete" in out
    assert (tmp_path / "colour/samples.png").is_file()


def test_colour_example_help_is_whole_and_its_evaluation_cheap(tmp_path):
    out = run([EXAMPLES / "colour_data.py", "--help"], cwd=tmp_path)
    assert "reported in bits per dimension." in out and "45 times that." in out
    assert re.search(r"--eval-k EVAL_K +importance samples .*\(default: 100\)", out)


def test_version_is_the_projects(tmp_path):
    version = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(),
                        flags=re.M).group(1)
    assert vaekit.__version__ == version
    assert run(["-m", "vaekit", "--version"], cwd=tmp_path) == f"vaekit {version}\n"
    script = Path(sys.executable).parent / "vaekit"          # the installed console script
    if script.exists():
        out = subprocess.run([script, "--version"], capture_output=True, text=True, cwd=tmp_path)
        assert (out.returncode, out.stdout) == (0, f"vaekit {version}\n")


def test_python_m_vaekit_is_the_command(tmp_path):
    out = run(["-m", "vaekit", "--help"], cwd=tmp_path)
    assert out.startswith("usage: vaekit") and "train" in out
    run(["-m", "vaekit", "train", "--epochs", 1, "--eval-k", 10, "--eval-n", 20, "--name", "m"],
        cwd=tmp_path)
    assert (tmp_path / "runs/m/metrics.json").is_file()
    assert (tmp_path / "runs/m/best/model.safetensors").is_file()
