"""The autoencoder and GAN baselines in whole runs: trained, checkpointed, sampled, refused by
the commands that need a likelihood, and resumed exactly."""

import numpy as np
import pytest
import torch

import vaekit
from vaekit.baselines import Autoencoder, GAN
from vaekit.checkpoint import load_model

from conftest import tiny


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
