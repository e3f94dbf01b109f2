"""Imputation (imputation.py): the chain with the exact posterior is the exact conditional, and
the masks are defined on the image for every channel and size."""

import pytest
import torch

from vaekit.imputation import impute, make_mask
from vaekit.linear_gaussian import LinearGaussian

pytestmark = pytest.mark.usefixtures("float64")


def test_imputation_chain_with_the_exact_posterior_is_the_exact_conditional():
    # orthogonal columns of W make p(z|x) diagonal, so the VAE's q is exact and the chain is a
    # Gibbs sampler for p(z, x_missing | x_observed)
    D, Z, s = 6, 2, 0.5
    W, _ = torch.linalg.qr(torch.randn(D, Z, generator=torch.Generator().manual_seed(0)))
    lg = LinearGaussian(W * torch.tensor([2.0, 1.0]), torch.zeros(D), s)
    model = lg.as_vae()
    x = lg.sample(40, generator=torch.Generator().manual_seed(1))
    mask = make_mask("top-half", len(x), (D,))
    torch.manual_seed(0)
    result = impute(model, x, mask, torch.zeros(D), torch.ones(D), steps=3000, burn_in=50,
                    sample_missing=True)
    # exact log p(x_missing | x_observed) from the joint Gaussian
    C = lg.W @ lg.W.T + s ** 2 * torch.eye(D)
    m, o = mask[0], ~mask[0]
    gain = C[m][:, o] @ torch.linalg.inv(C[o][:, o])
    cond = torch.distributions.MultivariateNormal(
        x[:, o] @ gain.T, C[m][:, m] - gain @ C[o][:, m])
    exact = cond.log_prob(x[:, m])
    error = result.log_lik - exact          # Monte Carlo error of a 3000-step chain
    assert error.mean().abs() < 0.03 and error.abs().max() < 0.3, error
    assert result.log_lik.mean() > result.baseline_log_lik.mean() + 0.5


def test_masks_are_defined_on_the_image_for_every_channel_and_size():
    top = make_mask("top-half", 2, (1, 4, 4))
    assert top.shape == (2, 1, 4, 4)
    assert top[0, 0, :2].all() and not top[0, 0, 2:].any()
    left = make_mask("left-half", 1, (3, 5, 6))[0]               # colour, odd height
    assert left.shape == (3, 5, 6) and left[:, :, :3].all() and not left[:, :, 3:].any()
    colour_top = make_mask("top-half", 1, (3, 32, 32))[0]
    assert colour_top[:, :16].all() and not colour_top[:, 16:].any()
    rand = make_mask("random-half", 50, (3, 8, 8), torch.Generator().manual_seed(0))
    assert (rand == rand[:, :1]).all()                          # a pixel in all channels or none
    assert 0.4 < rand.float().mean() < 0.6
    vector = make_mask("bottom-half", 1, (6,))[0]
    assert vector.tolist() == [False] * 3 + [True] * 3
    with pytest.raises(ValueError, match="unknown mask"):
        make_mask("middle", 1, (1, 4, 4))
    with pytest.raises(ValueError, match="needs images"):
        make_mask("left-half", 1, (6,))
