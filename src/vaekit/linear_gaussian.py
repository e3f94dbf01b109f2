"""The linear-Gaussian model (probabilistic PCA; Tipping & Bishop 1999): an exact reference.

z ~ N(0, I_Z), x | z ~ N(W z + b, s^2 I_D). Everything is closed form:
    p(x)   = N(x; b, W W^T + s^2 I)
    p(z|x) = N(M^-1 W^T (x - b), s^2 M^-1),  M = W^T W + s^2 I
so it checks the ELBO, importance-sampled log p(x), and posterior inference (`as_vae`: the
same model as a vaekit VAE on two nn.Linear modules).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.distributions import MultivariateNormal

from torch import nn

from .config import ModelConfig
from .latents.gaussian import MIN_SCALE
from .model import VAE
from .networks import Networks


def _inv_softplus(y: torch.Tensor) -> torch.Tensor:
    return y + torch.log(-torch.expm1(-y))


@dataclass
class LinearGaussian:
    W: torch.Tensor     # [D, Z]
    b: torch.Tensor     # [D]
    s: float            # observation noise standard deviation

    @property
    def dims(self) -> tuple[int, int]:
        return self.W.shape

    def marginal(self) -> MultivariateNormal:
        D = self.W.shape[0]
        return MultivariateNormal(self.b, self.W @ self.W.T + self.s ** 2 * torch.eye(D))

    def log_marginal(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) exactly: [N]."""
        return self.marginal().log_prob(x)

    def posterior(self, x: torch.Tensor) -> MultivariateNormal:
        """p(z|x) exactly: batch_shape [N], event_shape [Z]."""
        Z = self.W.shape[1]
        M = self.W.T @ self.W + self.s ** 2 * torch.eye(Z)
        M_inv = torch.linalg.inv(M)
        mean = (x - self.b) @ (M_inv @ self.W.T).T
        return MultivariateNormal(mean, covariance_matrix=self.s ** 2 * M_inv)

    def best_mean_field(self) -> torch.Tensor:
        """Deviations of the diagonal q closest to p(z|x): 1 / sqrt(diag M / s^2) (PRML 10.1.2)."""
        Z = self.W.shape[1]
        precision = (self.W.T @ self.W + self.s ** 2 * torch.eye(Z)) / self.s ** 2
        return precision.diagonal().rsqrt()

    def mean_field_gap(self) -> float:
        """KL(q || p(z|x)) for the best diagonal q: (1/2) (sum_i log P_ii - log det P)."""
        Z = self.W.shape[1]
        precision = (self.W.T @ self.W + self.s ** 2 * torch.eye(Z, dtype=self.W.dtype)) / self.s ** 2
        return 0.5 * (precision.diagonal().log().sum() - torch.logdet(precision)).item()

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        D, Z = self.W.shape
        z = torch.randn(n, Z, generator=generator, dtype=self.W.dtype)
        return z @ self.W.T + self.b + self.s * torch.randn(n, D, generator=generator,
                                                             dtype=self.W.dtype)

    def as_vae(self, posterior_std: torch.Tensor | None = None):
        """This model as a VAE with linear networks; q's deviations: `posterior_std` or exact."""
        D, Z = self.W.shape
        min_std = min(1e-3, self.s / 2)
        config = ModelConfig(latent={"name": "gaussian", "dim": Z},
                             likelihood={"name": "gaussian", "min_std": min_std},
                             network={"name": "custom", "encoder_class": "Linear",
                                      "decoder_class": "Linear"})
        vae = VAE(config, (D,), Networks(nn.Linear(D, 2 * Z), nn.Linear(Z, 2 * D)))
        vae = vae.to(self.W.dtype)
        Zm = self.W.T @ self.W + self.s ** 2 * torch.eye(Z, dtype=self.W.dtype)
        A = torch.linalg.solve(Zm, self.W.T)                         # [Z, D]: mean = A (x - b)
        if posterior_std is None:
            posterior_std = (self.s ** 2 * torch.linalg.inv(Zm)).diagonal().sqrt()
        enc, dec = vae.encoder, vae.decoder
        with torch.no_grad():
            enc.weight.zero_()
            enc.weight[:Z] = A
            enc.bias[:Z] = -A @ self.b
            enc.bias[Z:] = _inv_softplus(posterior_std - MIN_SCALE)
            dec.weight.zero_()
            dec.weight[:D] = self.W
            dec.bias[:D] = self.b
            dec.bias[D:] = _inv_softplus(torch.full((D,), self.s - min_std, dtype=self.W.dtype))
        return vae


def maximum_likelihood(x: torch.Tensor, Z: int) -> LinearGaussian:
    """Tipping & Bishop's closed-form maximum-likelihood pPCA for x [N, D]: b = mean, s^2 = the
    mean of the D - Z smallest eigenvalues of S, W = U_Z (Lambda_Z - s^2 I)^(1/2)."""
    D = x.shape[1]
    b = x.mean(0)
    S = (x - b).T @ (x - b) / len(x)
    eigenvalues, eigenvectors = torch.linalg.eigh(S)            # ascending
    s2 = eigenvalues[: D - Z].mean()
    top, U = eigenvalues[D - Z:].flip(0), eigenvectors[:, D - Z:].flip(1)
    return LinearGaussian(U * (top - s2).clamp_min(0).sqrt(), b, s2.sqrt().item())


def random_linear_gaussian(D: int = 6, Z: int = 2, s: float = 0.5, seed: int = 0,
                           dtype=torch.float64) -> LinearGaussian:
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, Z, generator=g, dtype=dtype)
    b = torch.randn(D, generator=g, dtype=dtype) * 0.5
    return LinearGaussian(W, b, s)


__all__ = ["LinearGaussian", "maximum_likelihood", "random_linear_gaussian"]
