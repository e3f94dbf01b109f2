"""Your own encoder and decoder modules: trained with vaekit.train, loaded back by passing the
modules again, refused with one line when they do not fit (and never loaded partly)."""

import pytest
import torch
from torch import nn

import vaekit
from vaekit import VaekitError


class MyEncoder(nn.Module):
    """x [B, 1, 8, 8] -> [B, 2 * 3]: means and pre-softplus scales of 3 Gaussian latents."""

    def __init__(self, hidden: int = 24):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(4 * 64, hidden), nn.ReLU(), nn.Linear(hidden, 6))

    def forward(self, x):
        return self.net(x)


class MyDecoder(nn.Module):
    """z [B, 3] -> logits [B, 1, 8, 8]."""

    def __init__(self, hidden: int = 24):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def forward(self, z):
        return self.net(z).view(-1, 1, 8, 8)


def config(epochs=2):
    return vaekit.TrainConfig(model=vaekit.ModelConfig(latent={"name": "gaussian", "dim": 3}),
                              epochs=epochs, batch_size=64, eval_k=20, eval_n=20, threads=1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    torch.manual_seed(0)
    networks = vaekit.Networks(MyEncoder(), MyDecoder())
    result = vaekit.train(config(), tmp_path_factory.mktemp("mine") / "run",
                          networks=networks, progress=False)
    return result, networks


def test_train_save_and_load_by_passing_the_modules_again(run):
    result, networks = run
    assert result.model.encoder is networks.encoder            # the user's own modules
    assert result.history[-1]["valid_elbo"] > result.history[0]["valid_elbo"]
    network = result.config.model.network
    assert (network.name, network.encoder_class, network.decoder_class) == \
        ("custom", "MyEncoder", "MyDecoder")
    loaded, ckpt = vaekit.load_model(result.run_dir,
                                     networks=vaekit.Networks(MyEncoder(), MyDecoder()))
    x = result.splits.test[:16]
    z = torch.randn(5, 3)
    with torch.no_grad():
        assert torch.equal(loaded.encode(x), result.model.encode(x))
        assert torch.equal(loaded.observation(z).mean, result.model.observation(z).mean)
    assert (result.run_dir / "samples.png").is_file()


def test_without_the_modules_the_run_says_what_to_pass(run):
    result, _ = run
    with pytest.raises(VaekitError, match="your own networks \\(MyEncoder, MyDecoder\\); "
                                          "pass them again") as e:
        vaekit.load_model(result.run_dir)
    assert "\n" not in str(e.value)


def test_a_mismatched_module_is_refused_and_left_untouched(run):
    result, _ = run
    wrong = vaekit.Networks(MyEncoder(hidden=32), MyDecoder())
    before = {k: v.clone() for k, v in wrong.encoder.state_dict().items()}
    with pytest.raises(VaekitError, match="weights do not fit the model config \\(size "
                                          "mismatch for encoder.net.3.weight") as e:
        vaekit.load_model(result.run_dir, networks=wrong)
    assert "\n" not in str(e.value)
    for key, value in wrong.encoder.state_dict().items():    # not one tensor was loaded
        assert torch.equal(value, before[key]), key


def test_resume_with_the_modules_continues_exactly(run, tmp_path):
    torch.manual_seed(0)
    first = vaekit.Networks(MyEncoder(), MyDecoder())
    vaekit.train(config(epochs=1), tmp_path / "r", networks=first, progress=False,
                 final_eval=False)
    resumed = vaekit.train(None, tmp_path / "r", resume=True, epochs=2, progress=False,
                           final_eval=False, networks=vaekit.Networks(MyEncoder(), MyDecoder()))
    straight, _ = run
    history = [r["train_elbo"] for r in resumed.history]
    assert history == [straight.history[1]["train_elbo"]]


@pytest.mark.parametrize("networks, message", [
    (vaekit.Networks(MyEncoder(), nn.Linear(3, 64)),
     "the decoder \\(Linear\\) maps \\[2, 3\\] to \\[2, 64\\]; the model needs \\[2, 1, 8, 8\\]"),
    (vaekit.Networks(nn.Linear(64, 6), MyDecoder()),
     "the encoder \\(Linear\\) fails on a batch of shape \\[2, 1, 8, 8\\]"),
    (vaekit.Networks(None, MyDecoder()), "this model needs an encoder"),
    (vaekit.Networks("encoder", MyDecoder()), "must be a torch.nn.Module"),
])
def test_modules_of_the_wrong_shape_are_refused_when_the_model_is_built(networks, message):
    with pytest.raises(VaekitError, match=message) as e:
        vaekit.build_model(config().model, (1, 8, 8), networks)
    assert "\n" not in str(e.value)


def test_batch_norm_statistics_are_not_touched_by_the_shape_check():
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 6), nn.BatchNorm1d(6))
    vaekit.build_model(config().model, (1, 8, 8), vaekit.Networks(encoder, MyDecoder()))
    assert encoder.training and encoder[2].num_batches_tracked.item() == 0
