"""The figures of a run (figures.py): interpolation, the 2-D manifold, and every figure written."""

import torch

from vaekit.checkpoint import load_model
from vaekit.figures import interpolation, manifold, run_figures

from test_report import run


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
    assert set(figures) == {"Training curves", "Samples from the prior: mean of p(x|z)",
                            "Test images over their reconstructions: mean of p(x|z)",
                            "Latent interpolation between test images: mean of p(x|z)",
                            "2-D latent manifold: mean of p(x|z)",
                            "Latent codes of test data by class"}
    for path in figures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
