"""The convolutional network families (networks/conv.py, networks/resnet.py): shapes,
gradients, refusals, exact size retracing, and that they train."""

import pytest
import torch

from vaekit.errors import VaekitError
from vaekit.networks import Conv, NETWORKS, ResNet


TINY = {"conv": Conv(channels=(4, 8)), "resnet": ResNet(channels=(4, 8), blocks=1)}


SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64), (3, 24, 40)]


def one_line_error(build, *words):
    """build() raises a one-line VaekitError containing every word."""
    with pytest.raises(VaekitError) as info:
        build()
    message = str(info.value)
    assert "\n" not in message and message
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.mark.parametrize("family", sorted(TINY))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_shapes_and_gradients(family, shape):
    torch.manual_seed(0)
    spec = NETWORKS.spec(TINY[family])
    c, h, w = shape
    encoder = spec.encoder(shape, 6)
    x = torch.randn(3, *shape)
    assert encoder(x).shape == (3, 6)
    for p in (c, 2 * c):
        decoder = spec.decoder(5, (p, h, w))
        out = decoder(torch.randn(3, 5))
        assert out.shape == (3, p, h, w)
        # a loss on the decoder's output, through the encoder, reaches every parameter
        loss = decoder(encoder(x)[:, :5]).square().mean()
        loss.backward()
        for name, param in [*encoder.named_parameters(), *decoder.named_parameters()]:
            assert param.grad is not None and param.grad.abs().sum() > 0, name
        encoder.zero_grad()


@pytest.mark.parametrize("family", sorted(TINY))
def test_leading_dims_fold_into_the_batch(family):
    """Importance samples [S, B, ...] go through as a batch of S * B, example by example."""
    spec = TINY[family]
    encoder, decoder = spec.encoder((1, 8, 8), 4), spec.decoder(4, (2, 8, 8))
    z = torch.randn(5, 3, 4)
    out = decoder(z)
    assert out.shape == (5, 3, 2, 8, 8)
    torch.testing.assert_close(out[2, 1], decoder(z[2, 1:2])[0])
    assert encoder(torch.randn(5, 3, 1, 8, 8)).shape == (5, 3, 4)
    one_line_error(lambda: encoder(torch.randn(3, 1, 8, 9)), "[3, 1, 8, 9]")


@pytest.mark.parametrize("family", ["conv", "resnet"])
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 64, 64)], ids=["28", "64"])
def test_default_widths(family, shape):
    spec = NETWORKS.spec(family)
    assert spec.channels == (32, 64) and spec.activation == "leaky_relu"
    c, h, w = shape
    encoder, decoder = spec.encoder(shape, 20), spec.decoder(10, (2 * c, h, w))
    assert encoder(torch.rand(2, *shape)).shape == (2, 20)
    assert decoder(torch.randn(2, 10)).shape == (2, 2 * c, h, w)
    # the widths are the defaults: the last down-sampling layer has 64 output channels
    assert encoder[-1].in_features == 64 * (h // 4) * (w // 4)


def test_registered_with_options():
    assert {"conv", "resnet"} <= set(NETWORKS.names())
    spec = NETWORKS["resnet"].from_options({"channels": (8,), "blocks": 2, "activation": "elu",
                                            "encoder_hidden": (5,)})
    assert spec == ResNet(channels=(8,), blocks=2, activation="elu")
    assert NETWORKS.spec(spec.to_dict() | {"channels": [3, 5]}) == ResNet((3, 5), 2, "elu")
    assert NETWORKS["conv"].from_options({"channels": (2, 4, 6)}) == Conv(channels=(2, 4, 6))


@pytest.mark.parametrize("family", ["conv", "resnet"])
def test_refusals(family):
    spec = TINY[family]
    vector = f"--network {family}", "[C, H, W]", "[784]"
    one_line_error(lambda: spec.encoder((784,), 10), *vector)
    one_line_error(lambda: spec.decoder(10, (784,)), *vector)
    one_line_error(lambda: spec.encoder((1, 784, 1, 1), 10), "[1, 784, 1, 1]")
    # 2x2 with two halvings, 4x4 with three: a side would reach 0
    one_line_error(lambda: spec.encoder((1, 2, 2), 10), "2x2", "2 down-sampling", "4x4",
                   "fewer --channels")
    three = type(spec)(channels=(4, 4, 4))
    one_line_error(lambda: three.decoder(10, (1, 4, 4)), "4x4", "3 down-sampling", "8x8")
    one_line_error(lambda: three.encoder((1, 30, 7), 10), "30x7", "8x8")
    assert three.encoder((1, 8, 8), 3)(torch.zeros(1, 1, 8, 8)).shape == (1, 3)   # the smallest


@pytest.mark.parametrize("bad", [
    {"name": "conv", "channels": []}, {"name": "conv", "channels": [4, 0]},
    {"name": "conv", "activation": "sigmoidish"}, {"name": "resnet", "channels": [-1]},
    {"name": "resnet", "blocks": -1}, {"name": "resnet", "blocks": 1.5},
    {"name": "resnet", "activation": "nope"}, {"name": "conv", "blocks": 1}])
def test_bad_settings_refused(bad):
    word = {"channels": "--channels", "blocks": "blocks", "activation": "activation"}
    key = next(k for k in bad if k != "name")
    one_line_error(lambda: NETWORKS.spec(bad), word[key])


def test_decoder_retraces_every_size():
    """Every H from 4 to 70 (square, and with W = 74 - H) comes back exactly."""
    spec = TINY["conv"]
    z = torch.randn(1, 2)
    with torch.no_grad():
        for h in range(4, 71):
            for w in (h, 74 - h):
                assert spec.decoder(2, (1, h, w))(z).shape == (1, 1, h, w), (h, w)
                assert spec.encoder((1, h, w), 2)(torch.zeros(1, 1, h, w)).shape == (1, 2)


@pytest.mark.parametrize("family", ["conv", "resnet"])
def test_learns(family):
    """An autoencoder through 8 numbers fits 16 fixed random images: the MSE at least halves."""
    torch.manual_seed(0)
    spec = NETWORKS.spec({"name": family, "channels": [8, 16]})
    encoder, decoder = spec.encoder((1, 8, 8), 8), spec.decoder(8, (1, 8, 8))
    x = torch.randn(16, 1, 8, 8)
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=3e-3)

    def mse():
        return (decoder(encoder(x)) - x).square().mean()

    with torch.no_grad():
        before = mse().item()
    for _ in range(150):
        optimizer.zero_grad()
        loss = mse()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = mse().item()
    assert after < before / 2, (before, after)
