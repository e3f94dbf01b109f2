"""The gap report (gaps.py) against the linear-Gaussian model, where log p(x) and the
mean-field gap are exact: refinement helps a poor encoder, and the table is ordered; with
flow posteriors too."""

import pytest
import torch
from torch import nn

from vaekit import ModelConfig
from vaekit.gaps import elbo_per_example, gap_report
from vaekit.inference import LocalOptimizer, refine
from vaekit.model import VAE
from vaekit.networks import Networks

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


@pytest.mark.parametrize("flow", ["planar", "iaf"])
def test_gap_report_with_a_flow_posterior(flow):
    """The E-step optimizes a flow's parameters (planar) or context (IAF) per example, and the
    defensive mixture scores each flow's log q at the other's draws by inverting its steps."""
    lg = correlated()
    D, Z = lg.W.shape
    reference = lg.as_vae()
    shape = {"flow_width": 8} if flow == "iaf" else {}
    config = ModelConfig(latent={"name": "gaussian", "dim": Z, "flow": flow, "flow_steps": 2,
                                 **shape},
                         likelihood=reference.config.likelihood, network=reference.config.network)
    torch.manual_seed(0)
    size = config.validate().latent.build().param_size
    model = VAE(config, (D,), Networks(nn.Linear(D, size), nn.Linear(Z, 2 * D))).double()
    model.decoder.load_state_dict(reference.decoder.state_dict())
    with torch.no_grad():                            # q_phi: the diagonal's, the flow's small
        model.encoder.weight[2 * Z:] *= 0.1
        model.encoder.weight[:2 * Z] = reference.encoder.weight
        model.encoder.bias[:2 * Z] = reference.encoder.bias
        for p in model.latent.parameters():          # IAF: not the identity it starts as
            p.copy_(0.3 * torch.randn(p.shape))
    x = lg.sample(10, generator=torch.Generator().manual_seed(1))
    table = gap_report(model, x, k=1000, elbo_samples=100, refine_steps=3,
                       settings=LocalOptimizer(max_iter=150))
    exact = lg.log_marginal(x).mean().item()
    log_px = table["log_px"]
    assert abs(log_px["mean"] - exact) < 4 * log_px["mc_se"], (log_px, exact)
    assert table["elbo_optimized"]["mean"] < log_px["mean"]
    assert table["elbo_optimized"]["mean"] > table["elbo_amortized"]["mean"]
