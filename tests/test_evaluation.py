"""Evaluation against the exact marginal likelihood of the linear-Gaussian model."""

import math

import torch

from vaekit import active_units, bits_per_dim, elbo_report, evaluate, log_likelihood
from vaekit.linear_gaussian import random_linear_gaussian

from test_devices import load_model_for_estep


def _model_and_data(n=6, seed=3):
    lg = random_linear_gaussian(D=6, Z=2, s=0.5, dtype=torch.float64)
    return lg, lg.sample(n, torch.Generator().manual_seed(seed))


def test_importance_sampled_log_px_agrees_with_exact_within_3_standard_errors():
    lg, x = _model_and_data()
    # q wider than the posterior, so the weights vary and the standard error is not zero
    vae = lg.as_vae(posterior_std=torch.tensor([0.6, 0.6], dtype=torch.float64))
    torch.manual_seed(0)
    ll = log_likelihood(vae, x, k=5000, max_rows=2048)   # chunked over data and over K
    exact = lg.log_marginal(x)
    assert ll.per_example.dtype == torch.float64 and ll.k == 5000
    assert (ll.mc_se > 0).all()
    assert ((ll.per_example - exact).abs() < 3 * ll.mc_se).all()


def test_chunking_does_not_change_the_estimate():
    lg, x = _model_and_data()
    vae = lg.as_vae(posterior_std=torch.tensor([0.6, 0.6], dtype=torch.float64))
    torch.manual_seed(0)
    one = log_likelihood(vae, x[:1], k=300, max_rows=10_000).per_example
    torch.manual_seed(0)
    chunked = log_likelihood(vae, x[:1], k=300, max_rows=64).per_example
    assert torch.allclose(one, chunked)


def test_cpu_chunks_follow_the_decoders_activations_and_keep_the_estimate():
    """A conv decoder outputs ~23,000 floats per row (the MLP's 1,584): its CPU chunks are
    smaller, and the estimate with them agrees with the old 8192-row chunks within Monte Carlo
    error (different chunks draw different z; the same seed gives the same first draws)."""
    import vaekit
    from vaekit.evaluation import MAX_FLOATS, floats_per_row, rows_for
    torch.manual_seed(0)
    mlp = vaekit.build_model(vaekit.ModelConfig(), (1, 28, 28))
    conv = vaekit.build_model(vaekit.ModelConfig(network="conv"), (1, 28, 28))
    assert floats_per_row(mlp) == 200 + 200 + 200 + 200 + 784          # 2 x (linear, tanh), out
    assert floats_per_row(conv) == 3 * 64 * 7 * 7 + 2 * 32 * 14 * 14 + 784
    assert rows_for(mlp) == 8192 and rows_for(conv) == MAX_FLOATS // floats_per_row(conv)
    assert rows_for(conv, 8192) == 8192                # what the caller asks for, it gets
    x = (torch.rand(4, 1, 28, 28) < 0.3).float()
    torch.manual_seed(1)
    small = log_likelihood(conv.eval(), x, k=2000)
    torch.manual_seed(2)
    large = log_likelihood(conv, x, k=2000, max_rows=8192)
    se = (small.mc_se ** 2 + large.mc_se ** 2).sqrt()
    assert ((small.per_example - large.per_example).abs() < 4 * se + 1e-9).all()


def test_elbo_report_terms_and_evaluate_dict():
    lg, x = _model_and_data(n=50)
    vae = lg.as_vae()
    torch.manual_seed(0)
    r = elbo_report(vae, x)
    assert math.isclose(r.elbo, r.rec_log_lik - r.kl, rel_tol=1e-9)
    assert r.kl > 0
    out = evaluate(vae, x, k=200)
    assert out["nll"] > 0 and out["nll_k"] == 200 and out["nll_n"] == 50
    assert -out["nll"] >= out["elbo"] - 4 * out["elbo_se"]   # log p(x) >= ELBO, within noise


def test_active_units_counts_latents_that_vary_with_x():
    lg, x = _model_and_data(n=200)
    vae = lg.as_vae()
    n_active, variance = active_units(vae, x)
    assert n_active == 2 and (variance > 0.01).all()
    with torch.no_grad():
        vae.encoder.weight[1].zero_()      # the second latent's mean ignores x
    n_active, variance = active_units(vae, x)
    assert n_active == 1 and variance[1] == 0


def test_bits_per_dim():
    assert math.isclose(bits_per_dim(784 * math.log(2), 784), 1.0)
    # dequantized 8-bit data: density on [0, 1] -> bits of the discrete data
    assert math.isclose(bits_per_dim(0.0, 10, levels=256), 8.0)


def test_evaluation_chunks_keep_the_cpu_cache_size():
    from vaekit.evaluation import MAX_ROWS, rows_for
    model = load_model_for_estep()
    assert rows_for(model) == MAX_ROWS
    assert rows_for(model, 100) == 100
