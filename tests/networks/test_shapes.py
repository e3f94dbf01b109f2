"""Size arithmetic of the convolutional networks (networks/shapes.py)."""

from vaekit.networks.shapes import down_sizes, output_paddings


def test_size_arithmetic():
    assert down_sizes(28, 2) == [28, 14, 7] and down_sizes(7, 1) == [7, 3]
    assert output_paddings([28, 14, 7], [7, 3, 1]) == [(0, 1), (0, 1)]
