"""Figures and the HTML report; the report is rendered in headless Chromium (installed by
scripts/test.sh), which must load every figure with no console message or script error."""

import shutil
import subprocess

import pytest
import torch

import vaekit
from vaekit.checkpoint import load_model
from vaekit.figures import interpolation, manifold, run_figures
from vaekit.report import write_report

from conftest import tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    config = vaekit.TrainConfig(model=tiny(latent_dim=2, hidden=64),
                                epochs=3, eval_k=20, eval_n=50, threads=1)
    result = vaekit.train(config, run_dir, progress=False)
    return result


def test_interpolation_ends_at_the_two_codes_and_manifold_is_a_grid(run):
    model, x = run.model, run.splits.test[:4]
    images = interpolation(model, x[:2], x[2:4], steps=5)
    assert images.shape == (10, 1, 8, 8)
    ends = model.likelihood.mean_image(model.observation(model.posterior(x).mean))
    torch.testing.assert_close(images[[0, 4, 5, 9]], ends[[0, 2, 1, 3]])
    grid = manifold(model, n=7)
    assert grid.shape == (49, 1, 8, 8) and grid.min() >= 0 and grid.max() <= 1
    # neighbouring grid cells decode different z, so the pictures are not all alike
    assert (grid[0] - grid[-1]).abs().max() > 1e-3


def test_every_figure_is_written(run):
    model, ckpt = load_model(run.run_dir)
    figures = run_figures(model, ckpt.config, run.splits, run.run_dir)
    assert set(figures) == {"Training curves", "Samples from the prior",
                            "Test images over their reconstructions",
                            "Latent interpolation between test images", "2-D latent manifold",
                            "Latent codes of test data"}
    for path in figures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is needed for the report test: scripts/test.sh installs "
                "Debian's chromium package (apt-get install -y chromium)")


def test_report_renders_in_headless_chromium(run, tmp_path):
    model, ckpt = load_model(run.run_dir)
    page = write_report(model, ckpt, run.splits, run.run_dir, tmp_path / "report.html")
    text = page.read_text()
    assert "http://" not in text and "https://" not in text   # self-contained
    browser = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
               "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(browser + ["--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-images-loaded="6"' in dom.stdout and 'data-images-failed="0"' in dom.stdout
    assert 'data-errors="0"' in dom.stdout
    console = [line for line in dom.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    shot = tmp_path / "shot.png"
    subprocess.run(browser + [f"--screenshot={shot}", "--window-size=1200,2400",
                              "--hide-scrollbars", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    import matplotlib.image
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1200)
    # not blank: a good share of the page is not background, and it holds dark and light
    not_white = (pixels.mean(-1) < 0.95).mean()
    assert not_white > 0.05 and pixels.min() < 0.2 and pixels.max() > 0.9, not_white
