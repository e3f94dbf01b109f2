"""`vaekit compare`: models side by side on one dataset (the lecture's VAE / autoencoder / GAN
contrast): a row of samples per model (two for an autoencoder: z ~ N(0, I), then z fitted to
its codes), and a table of test NLL and ELBO, FID (fid.py), entropies and training time.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from . import devices, progress
from .checkpoint import load_model
from .data import load_dataset, provenance, reduce_bits
from .errors import VaekitError
from .fid import classifier_for, sample_quality
from .model import VAE
from .plots import save_grid
from .runs import SECONDS, TEST, TEST_ELBO, TEST_NLL, Run


def _label(run: Run, config, model) -> str:
    m = config.model
    parts = [m.network.name] + ([m.latent.name, m.likelihood.name, config.objective]
                                if isinstance(model, VAE) else [])
    return f"{run.name}: {m.kind} ({', '.join(parts)})"


NO_FID = {"fid": None, "class_entropy": None, "marginal_class_entropy": None}


def compare_runs(runs: list[str | Path], n: int = 2000, seed: int = 0, per_row: int = 12,
                 out_dir: str | Path | None = None, device: str | torch.device = "auto",
                 fid: bool = True, dataset: str | None = None) -> tuple[list[dict], Path]:
    """`fid` False: no feature classifier (none is trained): FID and entropies are None.
    `dataset`: these data instead of the runs' own (provenance.locate)."""
    device = devices.resolve(device)
    loaded = [(Run.of(r), *load_model(r, device=device)) for r in runs]
    dataset = _one_dataset([ckpt for _, _, ckpt in loaded], dataset)
    classifier = classifier_for(dataset, device) if fid else None
    real = torch.from_numpy(dataset.unit(dataset.test[:n]))
    rows, pictures, names = [], [], []
    for run, model, ckpt in progress.bar(loaded, desc=f"compare: {n} samples per run",
                                         unit="run"):
        config, history = ckpt.config, run.metrics()
        test = run.summary().get(TEST, {})
        seconds = sum(r.get(SECONDS, 0.0) for r in history)
        draws = [("prior", model.sample)]
        if hasattr(model, "sample_fitted"):          # the autoencoder
            draws.append(("fitted Gaussian", model.sample_fitted))
        for how, sample in draws:
            torch.manual_seed(seed)
            samples = sample(n).cpu()
            rows.append({"run": str(run.path), "model": _label(run, config, model),
                         "samples": how, "shows": model.shown(),
                         "test_nll": test.get(TEST_NLL),
                         "test_bits_per_dim": test.get("nll_bits_per_dim"),
                         "test_elbo": test.get(TEST_ELBO), "train_seconds": round(seconds, 1),
                         "epochs": len(history),
                         **(sample_quality(classifier, samples, real) if fid else NO_FID)})
            pictures.append(samples[:per_row])
            names.append(run.name + (f" ({how})" if len(draws) > 1 else "")
                         + f": {model.shown()}")
    pictures.append(real[:per_row])     # the real images as the last row, for reference
    names.append("real (test)")
    out_dir = Path(out_dir or ".")
    out_dir.mkdir(parents=True, exist_ok=True)
    figure = out_dir / "compare.png"
    if dataset.is_image:
        labelled_grid(pictures, names, figure)
    (out_dir / "compare.json").write_text(json.dumps(rows, indent=1))
    return rows, figure


def _one_dataset(checkpoints: list, chosen: str | None = None):
    """The runs' one dataset, or `chosen` instead; each run's fingerprint checked against it."""
    datasets = {ckpt.config.data.dataset for ckpt in checkpoints}
    if len(datasets) != 1:
        raise VaekitError(f"runs on different datasets cannot be compared: {sorted(datasets)}")
    data = provenance.locate(checkpoints[0].config.data, chosen)
    dataset = load_dataset(data.dataset, data.image_size, data.background)
    for ckpt in checkpoints:
        provenance.check(ckpt.data_fingerprint, reduce_bits(dataset, ckpt.config.data.bits),
                         data.dataset, chosen is not None)
    return dataset


def labelled_grid(rows: list[torch.Tensor], names: list[str], path: Path,
                  legend: str | None = None) -> Path:
    """A grid with one row per tensor of images [n, C, H, W], each row's name at its left."""
    ncol = max(len(r) for r in rows)
    blank = torch.full_like(rows[0][:1], 0.5)
    full = [torch.cat([r, blank.expand(ncol - len(r), *r.shape[1:])]) for r in rows]
    return save_grid(torch.cat(full).float(), path, ncol, legend=legend, rows=names)


def format_rows(rows: list[dict]) -> str:
    def num(v, fmt):
        return format("-", f">{fmt.split('.')[0]}s") if v is None else format(v, fmt)
    width = max([len("model")] + [len(r["model"]) for r in rows])
    lines = [f"{'model':{width}s} {'samples':16s} {'NLL':>9s} {'bits/dim':>8s} {'ELBO':>9s} "
             f"{'FID':>9s} {'H(y|x)':>7s} {'H(y)':>6s} {'train s':>8s}"]
    for r in rows:
        lines.append(f"{r['model']:{width}s} {r['samples']:16s} {num(r['test_nll'], '9.2f')} "
                     f"{num(r.get('test_bits_per_dim'), '8.4f')} "
                     f"{num(r['test_elbo'], '9.2f')} {num(r['fid'], '9.2f')} "
                     f"{num(r['class_entropy'], '7.3f')} "
                     f"{num(r['marginal_class_entropy'], '6.3f')} {r['train_seconds']:8.1f}")
    skipped = ["FID skipped (--no-fid): no feature classifier, so no FID or entropies"] \
        if rows and all(r["fid"] is None for r in rows) else []
    return "\n".join(lines + skipped + [LEGEND])


LEGEND = ("NLL: -log p(x), nats per test image (importance sampled; lower is better); bits/dim: "
          "the NLL in bits per dimension of the data's levels (a continuous density's with "
          "log(levels) added; the figure to compare when the likelihoods differ, as nats of a "
          "density and of a probability are not comparable); ELBO: its "
          "lower bound, nats (higher is better); FID: Frechet distance of the classifier's "
          "features, samples vs test images (lower is better); H(y|x): mean entropy of the "
          "classifier on samples, nats (low: each sample looks like one class); H(y): entropy "
          "of the mean class distribution, nats (log 10 = 2.303 for 10 balanced classes: "
          "variety); train s: training seconds")
