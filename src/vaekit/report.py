"""A run's HTML report: one self-contained file (figures embedded as data URIs, no server, no
network) with the test metrics, the per-epoch log, the classes by name (where the data name
them), every figure and the configuration (the run's config.toml). Numbers are shown to 4
significant figures, times as durations. A small script in the page writes how many images
loaded and failed, and any script error, into <body data-images-loaded data-images-failed
data-errors>, and shows the count at the foot.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from . import config_file, runs
from .figures import class_names, run_figures
from .progress import duration

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 3px 10px; border-bottom: 1px solid #ddd; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0 1.5em 1.5em 0; vertical-align: top; }
figure img { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
footer { color: #777; font-size: 0.85em; margin-top: 2em; }
"""

CHECK = """
(function () {
  var errors = 0;
  window.addEventListener('error', function () { errors += 1; }, true);
  window.addEventListener('load', function () {
    var images = Array.prototype.slice.call(document.images);
    var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
    document.body.dataset.imagesLoaded = ok;
    document.body.dataset.imagesFailed = images.length - ok;
    document.body.dataset.errors = errors;
    document.getElementById('status').textContent =
      ok + ' of ' + images.length + ' figures loaded';
  });
})();
"""

METRICS = [("elbo", "test ELBO (nats)"), ("rec_log_lik", "E_q log p(x|z) (nats)"), ("kl", "KL (nats)"),
           ("nll", "-log p(x), importance sampled (nats)"), ("nll_se", "its standard error"),
           ("nll_k", "importance samples K"), ("nll_n", "test examples for log p(x)"),
           ("nll_bits_per_dim", "bits/dim (log p(x))"), ("elbo_bits_per_dim", "bits/dim (ELBO)"),
           ("active_units", "active units"), ("latent_dim", "latent size")]


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _number(value: float) -> str:
    """4 significant figures ("-29.97", "0.6427", "1e-05"); whole above 10,000 ("12,346")."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:.4g}"


def _cell(value, key: str = "") -> str:
    """A table cell's text: times (keys ending in "seconds") as durations, numbers rounded."""
    if isinstance(value, float) and key.endswith(runs.SECONDS):
        return duration(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return html.escape(str(value))


def _classes(names: list[str] | None) -> str:
    """The classes by label, where the data name them."""
    if not names:
        return ""
    items = "".join(f"<tr><td class='num'>{k}</td><td>{html.escape(n)}</td></tr>"
                    for k, n in enumerate(names))
    return f"<h2>Classes</h2><table><tr><th>label</th><th>class</th></tr>{items}</table>"


def render(title: str, summary: dict, history: list[dict], figures: dict[str, Path],
           config: str, class_names: list[str] | None = None) -> str:
    """The page; `config` is the run's configuration as TOML text."""
    test = summary.get(runs.TEST, {})
    rows = "".join(f"<tr><td>{html.escape(label)}</td><td class='num'>{_cell(test[key], key)}"
                   "</td></tr>" for key, label in METRICS if key in test)
    extra = "".join(f"<tr><td>{html.escape(k)}</td><td class='num'>{_cell(v, k)}</td></tr>"
                    for k, v in summary.items()
                    if k not in (runs.TEST, runs.CLASS_NAMES) and not isinstance(v, dict))
    epochs = ""
    if history:
        keys = [k for k in (runs.EPOCH, runs.trained_key(history[-1]), "valid_elbo",
                            "valid_rec_log_lik", "valid_kl", "lr", runs.SECONDS)
                if k in history[-1]]
        head = "".join(f"<th>{k}</th>" for k in keys)
        shown = history if len(history) <= 25 else history[:: max(1, len(history) // 25)] + history[-1:]
        body = "".join("<tr>" + "".join(f"<td class='num'>{_cell(r.get(k, ''), k)}</td>"
                                        for k in keys) + "</tr>" for r in shown)
        epochs = f"<h2>Per epoch</h2><table><tr>{head}</tr>{body}</table>"
    figs = "".join(f"<figure><img src='{_data_uri(p)}' alt='{html.escape(t)}'>"
                   f"<figcaption>{html.escape(t)}</figcaption></figure>"
                   for t, p in figures.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{CSS}</style><script>{CHECK}</script></head>
<body><h1>{html.escape(title)}</h1>
<h2>Test metrics</h2><table>{rows}{extra}</table>
{epochs}
{_classes(class_names)}
<h2>Figures</h2>{figs}
<h2>Configuration</h2><pre>{html.escape(config)}</pre>
<footer>vaekit report &middot; <span id="status">figures loading</span></footer>
</body></html>
"""


def write_report(model, ckpt, splits, run_dir: Path, out: Path | None = None,
                 show: str | None = None) -> Path:
    """Figures (figures.run_figures; `show`: what they show of p(x|z)) and metrics of the run
    in `run_dir` -> report.html."""
    run = runs.Run(run_dir)
    figures = run_figures(model, ckpt.config, splits, run.path, show=show)
    config = (run.config_file.read_text(encoding="utf-8") if run.config_file.is_file()
              else config_file.dumps(ckpt.config))     # runs before 0.3 have no config.toml
    page = render(f"vaekit run {run.name}", run.summary(), run.metrics(), figures, config,
                  class_names(run, splits))
    out = Path(out or run.file(runs.REPORT))
    out.write_text(page, encoding="utf-8")
    return out
