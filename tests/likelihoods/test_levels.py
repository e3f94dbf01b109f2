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


def test_pictures_of_a_discrete_likelihood_are_draws_in_its_levels_by_default():
    """A mixture's mean hides what it draws (issue 24): its pictures are draws (they differ
    from one call to the next, every value a level k / (L - 1)), or its mode or mean when
    asked, and each says which it is."""
    torch.manual_seed(0)
    lik = LIKELIHOODS.spec({"name": "dlogistic-mix", "mixtures": 3, "levels": 256}).build(
        (3, 4, 4))
    dist = lik(torch.randn(5, *lik.param_shape) * 3)
    a, b = lik.picture(dist), lik.picture(dist)
    assert lik.show == "draw" and not torch.equal(a, b)
    for x in (a, lik.picture(dist, "mode")):
        assert x.shape == (5, 3, 4, 4) and torch.allclose(x * 255, (x * 255).round(), atol=1e-4)
    assert torch.equal(lik.picture(dist, "mode"), lik.picture(dist, "mode"))
    assert torch.equal(lik.picture(dist, "mean"), lik.mean_image(dist))
    assert not torch.allclose(lik.picture(dist, "mean"), a, atol=1e-3)
    assert lik.shown() == "x ~ p(x|z)" and lik.shown("mean") == "mean of p(x|z)"
    assert lik.shown("mode") == "mode of p(x|z)'s likeliest component"
    dg = LIKELIHOODS.spec("dgaussian").build((1, 4, 4))
    assert dg.show == "draw" and dg.shown("mode") == "mode of p(x|z)"
    with pytest.raises(VaekitError, match="mean, draw, mode"):
        lik.picture(dist, "median")


@pytest.mark.parametrize("name", ["bernoulli", "gaussian"])
def test_pictures_of_bernoulli_and_gaussian_likelihoods_are_their_means(name):
    lik = LIKELIHOODS.spec(name).build((1, 3, 3))
    dist = lik(torch.zeros(2, *lik.param_shape))            # Bernoulli p = 1/2: mode 0
    assert lik.show == "mean" and lik.shown() == "mean of p(x|z)"
    torch.testing.assert_close(lik.picture(dist), lik.mean_image(dist))
    mode = lik.picture(dist, "mode")
    if name == "bernoulli":                      # at p = 1/2 torch's mode is NaN; ours says 0
        assert torch.equal(mode, torch.zeros_like(mode))
        params = torch.tensor([-3.0, 2.0, -0.1, 0.2, 5.0, -5.0, 0.0, 1.0, -1.0]).view(1, 1, 3, 3)
        torch.testing.assert_close(lik.picture(lik(params), "mode"), (params > 0).float())
    else:                                        # a Gaussian's mode is its mean, in [0, 1]
        torch.testing.assert_close(mode, lik.mean_image(dist).clamp(0, 1))
