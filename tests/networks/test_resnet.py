"""The residual network family (networks/resnet.py): blocks start near the identity, and no
blocks is a strided net."""

import torch

from vaekit.networks import NETWORKS, ResNet


def test_zero_blocks_is_a_strided_net():
    spec = NETWORKS.spec({"name": "resnet", "channels": [4, 8], "blocks": 0})
    decoder = spec.decoder(3, (1, 9, 9))
    assert decoder(torch.randn(2, 3)).shape == (2, 1, 9, 9)
    assert not any(type(m).__name__ == "ResidualBlock" for m in decoder.modules())


def test_residual_blocks_start_near_identity():
    torch.manual_seed(0)
    block = ResNet(channels=(8,)).encoder((1, 8, 8), 2)[1]
    assert type(block).__name__ == "ResidualBlock"
    x = torch.randn(4, 8, 8, 8)
    change = (block(x) - x).norm() / x.norm()
    assert 0 < change < 0.1
