"""Command line: vaekit train | evaluate | sample | reconstruct | traverse | gaps | impute.

Bad input ends with one line on stderr and exit status 2; an unexpected failure with one line
and status 1 (set VAEKIT_DEBUG=1 to see its traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import progress
from .errors import VaekitError
from .evaluation import MAX_ROWS
from .train_cli import add_train


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage text is one --help away) and no
    abbreviated options (--epoch is not taken for --epochs)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")

    def unrecognized(self, extra: list[str]) -> None:
        """Refuse arguments this (sub)command does not take, suggesting the nearest option."""
        import difflib
        options = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
        unknown = next((e for e in extra if e.startswith("-")), extra[0])
        near = difflib.get_close_matches(unknown.split("=")[0], options, n=1, cutoff=0.6)
        what = "option" if unknown.startswith("-") else "argument"
        self.error(f"unrecognized {what} {unknown}" + (f": did you mean {near[0]}?" if near
                                                       else ""))


def _add_estimation(p, out_help: str) -> None:
    """Options of the commands that estimate log p(x): memory bound, seed, threads, output."""
    p.add_argument("--max-rows", type=int,
                   help=f"decoder rows per chunk: bounds memory (default: {MAX_ROWS} on a CPU, "
                        "a quarter of the free memory on a GPU)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--out", help=out_help)


def _loaded(args, dataset: str | None = None):
    """(model, checkpoint, splits) for a run: its data (or `dataset`'s, which must have the
    same example shape) prepared as the model needs them."""
    import dataclasses

    import torch
    from .checkpoint import load_model
    from .data import prepare
    from .kinds import KINDS
    model, ckpt = load_model(args.run, device=args.device)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    cfg = ckpt.config
    data = cfg.data if dataset is None else dataclasses.replace(
        cfg.data, dataset=dataset, image_size=cfg.data.image_size if Path(dataset).is_dir()
        else None)
    splits = prepare(data.validate(), KINDS[cfg.model.kind].data(cfg.model))
    if splits.event_shape != tuple(ckpt.event_shape):
        raise VaekitError(f"data has examples of shape {list(splits.event_shape)}, the model "
                          f"expects {list(ckpt.event_shape)}")
    return model, ckpt, splits


def _images(ckpt) -> None:
    if len(ckpt.event_shape) != 3:
        raise VaekitError("this model's data are not images; nothing to draw")


def _vae(ckpt) -> None:
    if ckpt.config.model.kind != "vae":
        raise VaekitError(f"this command is for VAEs; this run is a {ckpt.config.model.kind}, "
                          "which has no log p(x) (see vaekit compare)")


def _picture_path(args) -> Path:
    """Where a picture command writes: --out as given (the user's choice), else in the run
    folder: args.png, or where that is None a new RUN/<command>-NNN.png (first free number),
    so that a default never overwrites the pictures written by training or an earlier call."""
    from .plots import first_free
    if args.out:
        return Path(args.out)
    folder = _run_folder(args.run)
    return folder / args.png if args.png else first_free(folder, args.command)


def cmd_evaluate(args) -> int:
    import torch
    from .evaluation import evaluate, format_result
    model, ckpt, splits = _loaded(args, args.dataset)
    _vae(ckpt)
    x = splits.test if args.split == "test" else splits.valid
    labels = splits.test_labels if args.split == "test" else splits.valid_labels
    labels = labels[:len(x)] if ckpt.config.data.labels and labels is not None else None
    if args.n:
        x, labels = x[:args.n], None if labels is None else labels[:args.n]
    torch.manual_seed(args.seed)
    result = evaluate(model, x, k=args.k, levels=splits.dequantized_levels,
                      max_rows=args.max_rows, labels=labels)
    result.update(checkpoint=str(ckpt.path), split=args.split)
    print(format_result(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


def cmd_sample(args) -> int:
    import torch
    from .checkpoint import load_model
    from .plots import save_grid
    model, ckpt = load_model(args.run, device=args.device)
    _images(ckpt)
    torch.manual_seed(args.seed)
    out = save_grid(model.sample(args.n), _picture_path(args), ncol=args.ncol)
    print(out)
    return 0


def cmd_reconstruct(args) -> int:
    import torch
    from .plots import reconstructions, save_grid
    model, ckpt, splits = _loaded(args)
    _images(ckpt)
    if not hasattr(model, "reconstruct"):
        raise VaekitError(f"a {ckpt.config.model.kind} has no encoder: nothing to reconstruct")
    torch.manual_seed(args.seed)
    images = reconstructions(model, splits, args.n, args.ncol)
    out = save_grid(images, _picture_path(args), ncol=args.ncol)
    print(out)
    return 0


def cmd_traverse(args) -> int:
    import torch
    from .latents import CategoricalLatent
    from .plots import save_grid, traversal_images
    model, ckpt, splits = _loaded(args)
    if not isinstance(getattr(model, "latent", None), CategoricalLatent):
        raise VaekitError("traverse changes one categorical variable at a time; this run's "
                          f"latents are {ckpt.config.model.latent.name!r}")
    _images(ckpt)
    x = splits.test
    if not 0 <= args.index < len(x):
        raise VaekitError(f"--index must be in 0..{len(x) - 1}")
    torch.manual_seed(args.seed)
    images = traversal_images(model, x[args.index], n_vars=args.n)
    print(save_grid(images, _picture_path(args), ncol=model.latent.n_classes))
    note = _same_cells_note(images, _run_folder(args.run))
    if note:
        print(note)
    return 0


def _test_kl(run: Path) -> float | None:
    """The test-set KL (nats per example) in the run's metrics.json, or None."""
    try:
        return float(json.loads((run / "metrics.json").read_text())["test"]["kl"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _same_cells_note(images, run: Path, tol: float = 0.05) -> str | None:
    """One line when the cells of a traversal are (about) the same picture (within `tol`,
    pixel values in [0, 1]) or the run's test KL is about zero, which else looks like a
    broken plot: the decoder ignores these variables."""
    kl = _test_kl(run)
    collapsed = kl is not None and kl < 0.1
    if (images - images[:1]).abs().max().item() >= tol and not collapsed:
        return None
    why = "posterior collapse" + (f"; the KL of this run's test set is {kl:.3g} nats"
                                  if kl is not None else "")
    return ("note: the cells are (about) the same image: the decoder ignores these variables "
            f"({why}). "
            "Train with --warmup-epochs, --free-bits or a smaller --beta (see vaekit train "
            "--help)")


def _test_data(args):
    """(model, checkpoint, splits, the first --n test examples) for a VAE run."""
    model, ckpt, splits = _loaded(args)
    _vae(ckpt)
    return model, ckpt, splits, splits.test[:args.n]


def cmd_gaps(args) -> int:
    import torch
    from .gaps import format_table, gap_report
    from .inference import LocalOptimizer
    model, ckpt, _, x = _test_data(args)
    torch.manual_seed(args.seed)
    settings = LocalOptimizer.for_model(model, max_iter=args.max_iter)
    table = gap_report(model, x, k=args.k, elbo_samples=args.elbo_samples,
                       refine_steps=args.refine_steps, settings=settings, max_rows=args.max_rows)
    table["checkpoint"] = str(ckpt.path)
    print(format_table(table))
    out = Path(args.out or Path(args.run) / "gaps.json")
    out.write_text(json.dumps(table, indent=1))
    print(out)
    return 0


def _imputation_summary(args, x, result) -> dict:
    missing = result.missing.sum().item()
    return {"mask": args.mask, "n": len(x), "steps": args.steps, "burn_in": args.burn_in,
            "missing_values_per_image": missing / len(x),
            "chain_log_lik_missing": result.log_lik.mean().item(),
            "chain_log_lik_missing_se": result.log_lik.std().item() / len(x) ** 0.5,
            "baseline_log_lik_missing": result.baseline_log_lik.mean().item(),
            "gain_per_image": (result.log_lik - result.baseline_log_lik).mean().item(),
            "gain_se": (result.log_lik - result.baseline_log_lik).std().item() / len(x) ** 0.5,
            "chain_mse_missing": result.squared_error.sum().item() / missing,
            "baseline_mse_missing": result.baseline_squared_error.sum().item() / missing}


def _imputation_picture(args, x, mask, result) -> None:
    """RGB rows: the input with its missing pixels marked, chain steps, the predictive mean,
    the truth. Every row but the first shows the observed pixels as they are (the chain clamps
    them), so the rows differ only where something was imputed."""
    import torch
    from .plots import mark_missing, rgb, save_grid
    shown = min(len(x), args.ncol)
    picks = torch.linspace(1, args.steps, min(args.steps, 6)).round().long().unique()
    x, mask = x[:shown], mask[:shown]
    predictive = torch.where(mask, result.means[args.burn_in:, :shown].mean(0), x)
    rows = [mark_missing(x, mask)] + [rgb(result.steps[t, :shown]) for t in picks.tolist()] + \
           [rgb(predictive), rgb(x)]
    out = save_grid(torch.cat(rows), _picture_path(args), ncol=shown)
    marker = "red" if x.shape[1] == 1 else "magenta/green checks"
    print(f"{out}: rows = masked input (missing {marker}), chain steps "
          f"{', '.join(map(str, picks.tolist()))} (missing pixels drawn from p(x|z)), predictive "
          "mean of the missing pixels, truth; observed pixels are the truth in every row")


def cmd_impute(args) -> int:
    import torch
    from .imputation import impute, make_mask
    from .plots import spread
    model, ckpt, splits, _ = _test_data(args)
    x = splits.test[spread(len(splits.test), args.n)]      # the whole range of the test split
    if not 0 <= args.burn_in < args.steps:
        raise VaekitError(f"--burn-in must be in 0..{args.steps - 1} (below --steps)")
    train = torch.from_numpy(splits.dataset.unit(splits.train[:10000]))   # the statistics
    generator = torch.Generator().manual_seed(args.seed)
    try:
        mask = make_mask(args.mask, len(x), model.event_shape, generator)
    except ValueError as e:
        raise VaekitError(str(e)) from None
    torch.manual_seed(args.seed)
    result = impute(model, x, mask, train.mean(0), train.std(0), args.steps, args.burn_in)
    summary = _imputation_summary(args, x, result)
    print(f"missing pixels: log-likelihood per image, chain {summary['chain_log_lik_missing']:.3f}"
          f" vs training-mean baseline {summary['baseline_log_lik_missing']:.3f} nats "
          f"(gain {summary['gain_per_image']:.3f} +- {summary['gain_se']:.3f}); mean squared "
          f"error {summary['chain_mse_missing']:.4f} vs {summary['baseline_mse_missing']:.4f}")
    (Path(args.json) if args.json else _run_folder(args.run) / "imputation.json").write_text(
        json.dumps(summary, indent=1))
    if splits.dataset.is_image:
        _imputation_picture(args, x, mask, result)
    return 0


def cmd_compare(args) -> int:
    import torch
    from .compare import compare_runs, format_rows
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out) if args.out else _new_folder(Path("runs"), "compare")
    rows, figure = compare_runs(args.runs, n=args.n, seed=args.seed, out_dir=out,
                                device=args.device)
    print(format_rows(rows))
    print(f"wrote compare.json{' and compare.png' if figure.is_file() else ''} in {out}")
    if figure.is_file():
        print(f"{figure}: a row of samples per model (the autoencoder: prior, then fitted "
              "Gaussian), real test images last")
    return 0


def _new_folder(parent: Path, stem: str) -> Path:
    """parent/stem-YYYYmmdd-HHMMSS (with -2, -3... if taken): a default output folder that
    never mixes two calls' files and leaves the current folder clean. Not created here, so a
    call that fails leaves nothing behind."""
    import itertools
    import time
    base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    for i in itertools.count(1):
        path = parent / (base if i == 1 else f"{base}-{i}")
        if not path.exists():
            return path


def _run_folder(path: str) -> Path:
    """The run folder of a run or of one of its checkpoints."""
    path = Path(path)
    return path.parent if (path / "meta.json").is_file() else path


def cmd_report(args) -> int:
    import torch
    from .report import write_report
    model, ckpt, splits, _ = _test_data(args)
    torch.manual_seed(args.seed)
    out = write_report(model, ckpt, splits, _run_folder(args.run), args.out)
    print(out)
    return 0


def cmd_figures(args) -> int:
    import torch
    from .figures import run_figures
    model, ckpt, splits, _ = _test_data(args)
    torch.manual_seed(args.seed)
    for title, path in run_figures(model, ckpt.config, splits, _run_folder(args.run)).items():
        print(f"{path}  ({title})")
    return 0


def _add_picture(sub, name: str, run, n: int, png: str | None, help: str, description: str):
    """A picture command's parser; png None: by default a new numbered file (_picture_path)."""
    p = sub.add_parser(name, help=help, description=description)
    p.add_argument("run", help="run folder or checkpoint folder")
    p.add_argument("--n", type=int, default=n, help=f"images (default {n})")
    p.add_argument("--ncol", type=int, default=8, help="images per row (default 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", help=f"PNG path (default RUN/{png})" if png else
                   f"PNG path (default: a new RUN/{name}-001.png, -002, ..., the first free "
                   "number; never overwrites a file)")
    p.set_defaults(run_cmd=run, png=png)
    return p


def _add_evaluate(sub) -> None:
    e = sub.add_parser("evaluate", help="importance-sampled log p(x), ELBO terms, bits/dim",
                       description="Evaluate a run's best checkpoint on its test data.")
    e.add_argument("run", help="run folder or checkpoint folder")
    e.add_argument("--k", type=int, default=5000, help="importance samples (default 5000)")
    e.add_argument("--n", type=int, help="first N examples only")
    e.add_argument("--split", choices=("test", "valid"), default="test")
    e.add_argument("--dataset", help="evaluate on this dataset's split instead of the run's own "
                   "(same preprocessing; the image size must match)")
    _add_estimation(e, "also write the results as JSON here")
    e.set_defaults(run_cmd=cmd_evaluate)


def _add_pictures(sub) -> None:
    _add_picture(sub, "sample", cmd_sample, 64, None, "decode draws from the prior into a PNG grid",
                 "Draw z ~ p(z) and save the mean of p(x|z) as a PNG grid.")
    _add_picture(sub, "reconstruct", cmd_reconstruct, 32, None,
                 "test images over their reconstructions (PNG)",
                 "Rows of test images, each over its reconstruction.")
    t = _add_picture(sub, "traverse", cmd_traverse, 10, "traversal.png",
                     "categorical latents: change one variable's class at a time (PNG)",
                     "For one test image, a row per categorical variable (the first --n): the "
                     "decoded image with that variable set to each class, the rest at q's mode.")
    t.add_argument("--index", type=int, default=0, help="which test image (default 0)")


def _add_gaps_and_impute(sub) -> None:
    g = sub.add_parser("gaps", help="approximation and amortization gaps (Cremer et al. 2018)",
                       description="log p(x), L[q*], L[semi], L[q_phi] and the gaps between "
                       "them on the first --n test examples; prints the table and writes JSON.")
    g.add_argument("run", help="run folder or checkpoint folder")
    g.add_argument("--n", type=int, default=500, help="test examples (default 500)")
    g.add_argument("--k", type=int, default=5000, help="importance samples (default 5000)")
    g.add_argument("--elbo-samples", type=int, default=100, help="samples per ELBO (default 100)")
    g.add_argument("--refine-steps", type=int, help="semi steps (default: the run's, 5)")
    g.add_argument("--max-iter", type=int, default=5000, help="E-step iteration cap (default 5000)")
    _add_estimation(g, "JSON path (default RUN/gaps.json)")
    g.set_defaults(run_cmd=cmd_gaps)
    im = _add_picture(sub, "impute", cmd_impute, 100, "imputation.png",
                      "fill missing pixels with the iterated q/p chain",
                      "Mask part of each test image, run z ~ q(z|x~), x~_missing ~ p(x|z) for "
                      "--steps steps, score the missing pixels against the truth and against "
                      "filling with the training mean; write a PNG and imputation.json.")
    im.add_argument("--mask", default="top-half",
                    help="top-half (default) | bottom-half | left-half | right-half | random-half")
    im.add_argument("--steps", type=int, default=50, help="chain steps T (default 50)")
    im.add_argument("--burn-in", type=int, default=10,
                    help="steps left out of the predictive (default 10)")
    im.add_argument("--json", help="summary path (default RUN/imputation.json)")
    im.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")


def _add_compare_and_pages(sub) -> None:
    c = sub.add_parser("compare", help="models side by side: samples, NLL, ELBO, FID, time",
                       description="A figure with a row of samples per run and a table of test "
                       "NLL and ELBO (where a model has a likelihood), a dataset-specific FID, "
                       "class entropies and training time. Writes compare.png and compare.json "
                       "into --out.")
    c.add_argument("runs", nargs="+", help="run folders (one dataset)")
    c.add_argument("--n", type=int, default=2000,
                   help="samples and real images for FID (default 2000)")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    c.add_argument("--out", help="folder for compare.png and compare.json (default: a new "
                   "runs/compare-YYYYmmdd-HHMMSS/)")
    c.set_defaults(run_cmd=cmd_compare)
    for name, cmd, help, description in (
            ("figures", cmd_figures, "write every figure of a run to RUN/figures/",
             "Samples, reconstructions, latent interpolation, the 2-D latent manifold (2-D "
             "Gaussian latents), a scatter of test codes by label, training curves."),
            ("report", cmd_report, "one self-contained report.html for a run",
             "Metrics, per-epoch log, every figure (embedded) and the configuration in one "
             "HTML file that opens in a browser without a server.")):
        r = sub.add_parser(name, help=help, description=description)
        r.add_argument("run", help="run folder")
        r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
        r.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
        r.set_defaults(run_cmd=cmd, n=None)
        if name == "report":
            r.add_argument("--out", help="HTML path (default RUN/report.html)")


def _version() -> str:
    """The installed distribution's version, else (no metadata) the package's own."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("vaekit")
    except PackageNotFoundError:
        from . import __version__
        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="vaekit", description="Variational autoencoders.")
    parser.add_argument("--version", action="version", version=f"vaekit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (add_train, _add_evaluate, _add_pictures, _add_gaps_and_impute,
                _add_compare_and_pages):
        add(sub)
    for name, command in sub.choices.items():
        if name != "train":
            command.add_argument("--device", default="auto",
                                 help="auto (default: CUDA, else MPS, else CPU) | cpu | cuda | "
                                      "cuda:N | mps")
            command.add_argument("--no-progress", action="store_true",
                                 help="no progress bars (they are off anyway when stderr is "
                                      "not a terminal)")
    parser.commands = sub.choices
    return parser


def parse(argv: list[str] | None):
    """The parsed arguments; unknown ones are refused by the subcommand they were given to."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.commands[args.command].unrecognized(extra)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    progress.set_enabled(not getattr(args, "no_progress", False))   # each call its own choice
    command = getattr(args, "run_cmd", None) or args.run
    for name in ("n", "k", "ncol", "max_rows", "threads", "steps", "elbo_samples", "max_iter",
                 "refine_steps"):
        value = getattr(args, name, None)
        if isinstance(value, int) and value < 1:
            print(f"vaekit: error: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    from . import devices, distributed
    try:
        if getattr(args, "device", None):
            devices.resolve(args.device)        # a device this machine lacks: say so first
        code = command(args)
    except VaekitError as e:
        print(f"vaekit: error: {e}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print("vaekit: interrupted", file=sys.stderr)
        code = 130
    except Exception as e:  # a bug, not bad input: one line unless asked for the traceback
        if os.environ.get("VAEKIT_DEBUG"):
            raise
        print(f"vaekit: internal error: {type(e).__name__}: {e} "
              "(set VAEKIT_DEBUG=1 for the traceback)", file=sys.stderr)
        code = 1
    distributed.shutdown(wait=code == 0)
    return code


if __name__ == "__main__":
    sys.exit(main())
