"""The autoencoder and GAN baselines, and the dataset-specific Frechet distance."""

import numpy as np
import pytest
import torch

import vaekit
from vaekit.baselines import GAN, Autoencoder
from vaekit.checkpoint import load_model
from vaekit.data import load_dataset
from vaekit.fid import classifier_for, frechet_distance, sample_quality

from conftest import tiny


@pytest.fixture(scope="module")
def digits_classifier(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("VAEKIT_CACHE", str(tmp_path_factory.mktemp("cache")))
    dataset = load_dataset("digits")
    torch.set_num_threads(1)
    yield dataset, classifier_for(dataset)
    mp.undo()


def test_frechet_distance_of_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(0.0, 1.0, (20000, 3))
    b = rng.normal([1.0, 2.0, 0.0], 2.0, (20000, 3))
    # |mu_a - mu_b|^2 + Tr(I + 4I - 2 (4I)^(1/2)) = 5 + 3 * (5 - 4) = 8
    assert abs(frechet_distance(a, b) - 8.0) < 0.25
    assert abs(frechet_distance(a, a)) < 1e-6


def test_fid_of_real_halves_is_near_zero_and_of_noise_large(digits_classifier):
    dataset, classifier = digits_classifier
    real = torch.from_numpy(dataset.unit(dataset.test))
    half = len(real) // 2
    same = sample_quality(classifier, real[:half], real[half:])
    noise = sample_quality(classifier, torch.rand(half, *real.shape[1:]), real[half:])
    assert noise["fid"] > 20 * same["fid"], (same, noise)
    with torch.no_grad():
        spread = np.trace(np.cov(classifier.features(real).numpy(), rowvar=False))
    assert same["fid"] < 0.1 * spread, (same["fid"], spread)
    # real digits are confidently classified and cover the ten classes
    assert same["class_entropy"] < 0.5 and same["marginal_class_entropy"] > 2.0
    # the classifier comes from the cache the second time, unchanged
    again = classifier_for(dataset)
    x = real[:10]
    torch.testing.assert_close(again(x), classifier(x))


@pytest.mark.parametrize("kind", ["ae", "gan"])
def test_baselines_train_checkpoint_and_sample(tmp_path, kind):
    config = vaekit.TrainConfig(model=tiny(kind=kind, hidden=32),
                                epochs=2, threads=1)
    result = vaekit.train(config, tmp_path / kind, progress=False)
    assert isinstance(result.model, Autoencoder if kind == "ae" else GAN)
    model, ckpt = load_model(tmp_path / kind)
    torch.manual_seed(0)
    a = model.sample(5)
    torch.manual_seed(0)
    b = result.model.sample(5)
    torch.testing.assert_close(a, b)
    assert a.shape == (5, 1, 8, 8) and a.min() >= 0 and a.max() <= 1
    assert (tmp_path / kind / "samples.png").is_file()
    from vaekit.cli import main
    assert main(["evaluate", str(tmp_path / kind)]) == 2        # no log p(x): one line
    assert main(["reconstruct", str(tmp_path / kind)]) == (0 if kind == "ae" else 2)
    if kind == "ae":
        assert np.isfinite(result.test["rec_log_lik"])
        torch.manual_seed(0)
        fitted = model.sample_fitted(5)
        assert not torch.allclose(fitted, a)


@pytest.mark.parametrize("kind", ["ae", "gan"])
def test_baselines_resume_exactly(tmp_path, kind):
    def config(epochs):
        return vaekit.TrainConfig(model=tiny(kind=kind),
            epochs=epochs, threads=1)
    straight = vaekit.train(config(3), tmp_path / "a", progress=False, final_eval=False)
    vaekit.train(config(1), tmp_path / "b", progress=False, final_eval=False)
    resumed = vaekit.train(None, tmp_path / "b", resume=True, epochs=3, progress=False,
                           final_eval=False)
    for (name, p), q in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        assert torch.equal(p, q), name             # optimizers (both of a GAN's), RNGs, epoch
