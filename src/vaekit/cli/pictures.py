"""`vaekit sample | reconstruct | traverse`: pictures of a run, as PNG grids in its folder
(or --out)."""

from __future__ import annotations

import torch

from .. import runs
from ..checkpoint import load_model
from ..errors import VaekitError
from ..latents import CategoricalLatent
from ..plots import reconstruction_picture, samples, save_grid, save_picture, traversal_images
from .common import (add_dataset, add_picture, loaded, picture_path, positive_float,
                     require_images, run_of)


def add(sub) -> None:
    s = add_picture(sub, "sample", sample, 64, None, "decode draws from the prior into a PNG grid",
                    "Draw z ~ p(z) and save p(x|z) as a PNG grid: its mean, a draw from it or "
                    "its mode (--show), as the legend under the grid says.")
    s.add_argument("--temperature", type=positive_float, default=1.0, metavar="T",
                   help="draw z from the prior with its scales times T (default 1; T < 1 gives "
                        "smoother, more typical samples: NVAE, VDVAE); gaussian and topdown "
                        "latents under their own prior")
    add_dataset(add_picture(sub, "reconstruct", reconstruct, 32, None,
                "test images over their reconstructions (PNG)",
                "Rows of test images, each over its reconstruction."))
    t = add_picture(sub, "traverse", traverse, 10, runs.TRAVERSAL,
                    "categorical latents: change one variable's class at a time (PNG)",
                    "For one test image, a row per categorical variable (the first --n): the "
                    "decoded image with that variable set to each class, the rest at q's mode.")
    t.add_argument("--index", type=int, default=0, help="which test image (default 0)")
    add_dataset(t)


def sample(args) -> int:
    model, ckpt = load_model(args.run, device=args.device)
    require_images(ckpt)
    torch.manual_seed(args.seed)
    picture = samples(model, args.n, args.show, temperature=args.temperature)
    print(save_grid(picture.images, picture_path(args), ncol=args.ncol, legend=picture.legend))
    return 0


def reconstruct(args) -> int:
    model, ckpt, splits = loaded(args)
    require_images(ckpt)
    if not hasattr(model, "reconstruct"):
        raise VaekitError(f"a {ckpt.config.model.kind} has no encoder: nothing to reconstruct")
    torch.manual_seed(args.seed)
    print(save_picture(reconstruction_picture(model, splits, args.n, args.ncol, args.show),
                       picture_path(args)))
    return 0


def traverse(args) -> int:
    model, ckpt, splits = loaded(args)
    if not isinstance(getattr(model, "latent", None), CategoricalLatent):
        raise VaekitError("traverse changes one categorical variable at a time; this run's "
                          f"latents are {ckpt.config.model.latent.name!r}")
    require_images(ckpt)
    x = splits.test
    if not 0 <= args.index < len(x):
        raise VaekitError(f"--index must be in 0..{len(x) - 1}")
    torch.manual_seed(args.seed)
    images = traversal_images(model, x[args.index], n_vars=args.n, show=args.show)
    rows = [f"z_{i + 1}" for i in range(len(images) // model.latent.n_classes)]
    legend = (f"test image {args.index}: row z_i sets variable i to each of its "
              f"{model.latent.n_classes} classes, the rest at q's mode; {model.shown(args.show)}")
    print(save_grid(images, picture_path(args), ncol=model.latent.n_classes, legend=legend,
                    rows=rows))
    note = same_cells_note(images, run_of(args))
    if note:
        print(note)
    return 0


def recorded_test_kl(run: runs.Run) -> float | None:
    """The test-set KL (nats per example) in the run's metrics.json, or None."""
    try:
        return float(run.summary()[runs.TEST][runs.TEST_KL])
    except (VaekitError, OSError, ValueError, KeyError, TypeError):
        return None


def same_cells_note(images, run: runs.Run, tol: float = 0.05) -> str | None:
    """One line when a traversal's cells are (about) one picture or the test KL is about zero."""
    kl = recorded_test_kl(run)
    collapsed = kl is not None and kl < 0.1
    if (images - images[:1]).abs().max().item() >= tol and not collapsed:
        return None
    why = "posterior collapse" + (f"; the KL of this run's test set is {kl:.3g} nats"
                                  if kl is not None else "")
    return ("note: the cells are (about) the same image: the decoder ignores these variables "
            f"({why}). "
            "Train with --warmup-epochs, --free-bits or a smaller --beta (see vaekit train "
            "--help)")
