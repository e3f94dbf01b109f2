"""The HTML report (report.py); it is rendered in headless Chromium (installed by
scripts/test.sh), which must load every figure with no console message or script error. It
shows the run's config.toml as written, numbers to 4 significant figures, times as durations."""

import html
import re
import shutil
import subprocess

import pytest

import vaekit
from vaekit.checkpoint import load_model
from vaekit.report import write_report

from conftest import tiny


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("report") / "run"
    config = vaekit.TrainConfig(model=tiny(latent_dim=2, hidden=64),
                                epochs=3, eval_k=20, eval_n=50, threads=1)
    result = vaekit.train(config, run_dir, progress=False)
    return result


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


def test_report_shows_the_config_toml_and_rounded_numbers(run, tmp_path):
    model, ckpt = load_model(run.run_dir)
    text = write_report(model, ckpt, run.splits, run.run_dir, tmp_path / "report.html").read_text()
    toml = (run.run_dir / "config.toml").read_text()
    assert html.escape(toml) in text                       # as written, not JSON
    assert '"kind": "vae"' not in text and 'kind = &quot;vae&quot;' in text


def test_report_numbers_have_four_significant_figures_and_times_read_as_durations():
    from vaekit.report import render
    summary = {"train_seconds": 54.496, "train_examples_per_s": 12345.6, "best_epoch": 3,
               "test": {"elbo": -29.96971256617043, "nll_bits_per_dim": 0.6427011171499158,
                        "nll_k": 5000, "active_units": 7}}
    history = [{"epoch": 1, "train_elbo": -30.511862677377227, "lr": 1e-05, "seconds": 0.041},
               {"epoch": 2, "train_elbo": -30.1, "lr": 1e-05, "seconds": 125.3}]
    page = render("t", summary, history, {}, 'epochs = 2\n[data]\ndataset = "digits"\n')
    cells = re.findall(r"<td class='num'>([^<]*)</td>", page)
    assert cells == ["-29.97", "5,000", "0.6427", "7",              # test metrics
                     "54.5 s", "12,346", "3",                          # the rest of metrics.json
                     "1", "-30.51", "1e-05", "41 ms", "2", "-30.1", "1e-05", "2:05"]  # per epoch
    assert "<pre>epochs = 2\n[data]\ndataset = &quot;digits&quot;\n</pre>" in page
