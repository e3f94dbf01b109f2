"""The likelihoods of integer levels (likelihoods/levels.py, what dlogistic-mix and
dgaussian share) as a model sees them: their
parameter shapes, log p(x|z) a probability of the levels (summing to one over every image of a
tiny level set), and the data they refuse, each with one line."""

import itertools

import pytest
import torch

import vaekit
from vaekit import VaekitError
from vaekit.likelihoods import LIKELIHOODS

from conftest import tiny


@pytest.mark.parametrize("spec, shape, params", [
    ({"name": "dlogistic-mix", "mixtures": 4}, (3, 8, 8), (40, 8, 8)),
    ({"name": "dlogistic-mix", "mixtures": 4}, (1, 8, 8), (12, 8, 8)),
    ("dgaussian", (3, 8, 8), (6, 8, 8)),
    ("dgaussian", (5,), (10,))])
def test_parameter_shapes(spec, shape, params):
    lik = LIKELIHOODS.spec(spec).build(shape)
    assert lik.param_shape == params


@pytest.mark.parametrize("name", ["dlogistic-mix", "dgaussian"])
def test_p_x_given_z_sums_to_one_over_every_image(name):
    """A 2-pixel colour 'image' with 3 levels: 3^6 images, whose probabilities sum to one."""
    torch.manual_seed(0)
    lik = LIKELIHOODS.spec({"name": name, "levels": 3}).build((3, 1, 2))
    dist = lik(torch.randn(4, *lik.param_shape, dtype=torch.float64) * 2)
    images = torch.tensor(list(itertools.product(range(3), repeat=6)), dtype=torch.float64)
    x = (images / 2).view(-1, 1, 3, 1, 2)                       # k / (L - 1)
    total = dist.log_prob(x).exp().sum(0)
    assert torch.allclose(total, torch.ones(4, dtype=torch.float64), atol=1e-9)
    pixelwise = lik.pixelwise(dist).log_prob(x[:5]).sum((-3, -2, -1))
    assert torch.allclose(pixelwise, dist.log_prob(x[:5]))       # the same, per pixel


def test_levels_the_likelihood_cannot_hold_are_refused(tmp_path):
    config = vaekit.TrainConfig(model=tiny(likelihood={"name": "dgaussian", "levels": 32}),
                                data=vaekit.DataConfig("photo-patches"), epochs=1)
    with pytest.raises(VaekitError, match="32 levels, the data 256"):
        vaekit.train(config, tmp_path / "r", progress=False)
    model = vaekit.build_model(tiny(likelihood={"name": "dgaussian", "levels": 32}), (3, 4, 4))
    with pytest.raises(VaekitError, match="integer levels 0..31"):
        vaekit.evaluate(model, torch.full((2, 3, 4, 4), 0.5), k=5)      # 15.5: not a level
    with pytest.raises(VaekitError, match="integer levels 0..31"):
        vaekit.evaluate(model, torch.full((2, 3, 4, 4), 2.0), k=5)      # level 62 > 31
