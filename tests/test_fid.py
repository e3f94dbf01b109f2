"""The dataset-specific Frechet distance (fid.py): the closed form on Gaussians, and the FID of
real digits against real digits and against noise."""

import numpy as np
import pytest
import torch

from vaekit.data import load_dataset
from vaekit.fid import classifier_for, frechet_distance, sample_quality


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


def test_the_announced_time_is_a_measured_rate_times_the_examples():
    from vaekit.fid import estimate, train_classifier
    d = load_dataset("digits")
    rates = []
    train_classifier(d.unit(d.train[:64]), d.train_labels[:64], epochs=6, min_steps=1,
                     batch_size=16, announce=rates.append)      # 24 steps: 3 warm, 20 timed
    assert len(rates) == 1 and rates[0] > 0
    assert estimate(1000.0, 1437, 357, torch.device("cpu")) == (
        "1,000 examples/s measured over its first steps x 513,009 examples (357 epochs of "
        "1,437) = about 9 minutes on cpu")
