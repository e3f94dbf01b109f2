"""Variational EM (inference/vem.py) recovers pPCA's maximum-likelihood solution; the schemes
without a plain encoder (semi-amortized, vem) train, checkpoint and resume identically."""

import math

import numpy as np
import pytest
import torch

import vaekit
from vaekit.data import Splits
from vaekit.data.sources import Dataset
from vaekit.linear_gaussian import LinearGaussian, maximum_likelihood, random_linear_gaussian

from conftest import tiny

pytestmark = pytest.mark.usefixtures("float64")


def _splits(x: np.ndarray, name="ppca") -> Splits:
    dataset = Dataset(name, x, x[:50], None, None, None)
    t = torch.from_numpy(x)
    return Splits(dataset, "none", x, t[:100], t[:50].clone(), None)


def _principal_cosines(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Cosines of the principal angles between the column spaces of A and B."""
    qa, _ = torch.linalg.qr(A)
    qb, _ = torch.linalg.qr(B)
    return torch.linalg.svdvals(qa.T @ qb)


def test_variational_em_recovers_the_ppca_maximum_likelihood_solution(tmp_path):
    # With a diagonal q, max over (theta, q) of the ELBO is the maximum likelihood: at the ML W
    # whose columns are orthogonal, p(z|x) is diagonal and the ELBO is tight. The rotation
    # towards orthogonal columns is slow (the ELBO is nearly flat along it), and the rest of
    # the way costs the small remaining gap in log-likelihood.
    torch.set_default_dtype(torch.float32)          # the trainer's precision
    D, Z = 5, 2
    truth = random_linear_gaussian(D=D, Z=Z, s=0.4, seed=5, dtype=torch.float32)
    x = truth.sample(300, generator=torch.Generator().manual_seed(0))
    ml = maximum_likelihood(x.double(), Z)
    config = vaekit.TrainConfig(
        model=vaekit.ModelConfig(latent={"name": "gaussian", "dim": Z},
                                 likelihood={"name": "gaussian", "variance": "shared"},
                                 network={"name": "mlp", "decoder_hidden": ()},
                                 inference={"name": "vem", "mstep_steps": 20}),
        data=vaekit.DataConfig(preprocess="none"), epochs=40, batch_size=300,
        lr=0.02, lr_schedule="cosine", min_lr=1e-4, threads=1)
    result = vaekit.train(config, tmp_path / "run", splits=_splits(x.numpy()), progress=False,
                          final_eval=False)
    model = result.model
    assert model.encoder is None
    dec, lik = model.decoder[0], model.likelihood
    s = (lik.min_std + torch.nn.functional.softplus(lik.raw_std)).item()
    learned = LinearGaussian(dec.weight.detach().double(), dec.bias.detach().double(), s)
    xd = x.double()
    per_point = learned.log_marginal(xd).mean().item()
    best = ml.log_marginal(xd).mean().item()
    start = LinearGaussian(torch.zeros(D, Z, dtype=torch.float64), torch.zeros(D, dtype=torch.float64),
                           1.0).log_marginal(xd).mean().item()
    assert per_point <= best + 1e-6                 # nothing beats the maximum
    assert best - per_point < 0.05 < (best - start) / 50, (best, per_point, start)
    assert _principal_cosines(learned.W, ml.W).min() > 0.9999
    assert abs(s - ml.s) < 0.01 * ml.s


@pytest.mark.parametrize("scheme", ["semi", "vem"])
def test_schemes_train_checkpoint_and_resume_identically(tmp_path, scheme):
    torch.set_default_dtype(torch.float32)
    inference = {"name": scheme, **({"max_iter": 40} if scheme == "vem" else {})}
    base = dict(model=tiny(hidden=32, inference=inference),
                data=vaekit.DataConfig(valid_fraction=0.1), batch_size=256, eval_k=10,
                eval_n=20, threads=1)
    straight = vaekit.train(vaekit.TrainConfig(epochs=2, **base), tmp_path / "a", progress=False)
    vaekit.train(vaekit.TrainConfig(epochs=1, **base), tmp_path / "b", progress=False,
                 final_eval=False)
    resumed = vaekit.train(None, tmp_path / "b", resume=True, epochs=2, progress=False)
    assert (straight.model.encoder is None) == (scheme == "vem")
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values()):
        assert torch.equal(a, b)
    assert straight.history[-1]["valid_elbo"] == resumed.history[-1]["valid_elbo"]
    assert math.isfinite(straight.test["nll"]) and math.isfinite(straight.test["elbo"])
