"""The gap report (gaps.py) against the linear-Gaussian model, where log p(x) and the
mean-field gap are exact: refinement helps a poor encoder, and the table is ordered."""

import pytest
import torch

from vaekit.gaps import elbo_per_example, gap_report
from vaekit.inference import refine

from inference.test_local import correlated

pytestmark = pytest.mark.usefixtures("float64")


def test_refinement_improves_a_poor_encoder_and_gap_report_is_ordered():
    lg = correlated()
    model = lg.as_vae(posterior_std=torch.tensor([0.9, 0.9]))       # q_phi too wide
    with torch.no_grad():
        model.encoder.weight[:2] *= 0.8                             # and its mean shrunk
    g = torch.Generator().manual_seed(1)
    x = lg.sample(200, generator=g)
    torch.manual_seed(0)
    start = model.encoder(x).detach()
    refined = refine(model, x, start, steps=20, lr=0.02)
    assert (elbo_per_example(model, x, refined, 2000).mean()
            > elbo_per_example(model, x, start, 2000).mean() + 0.05)

    torch.manual_seed(2)
    table = gap_report(model, x, k=2000, elbo_samples=500, refine_steps=5)
    order = [table[key]["mean"] for key in
             ("elbo_amortized", "elbo_semi", "elbo_optimized", "log_px")]
    assert order == sorted(order), table
    exact = lg.log_marginal(x).mean().item()
    assert abs(table["log_px"]["mean"] - exact) < 0.01
    # the approximation gap of a diagonal q is the closed-form mean-field term
    assert abs(table["approximation_gap"]["mean"] - lg.mean_field_gap()) < 0.02
    assert table["amortization_gap"]["mean"] > 5 * table["amortization_gap"]["se"]
