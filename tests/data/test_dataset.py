"""The dataset (data/dataset.py): --bits reduces 8-bit data only."""

from vaekit.cli import main


def test_bits_needs_8_bit_data(capsys):
    assert main(["train", "--dataset", "digits", "--bits", "4", "--epochs", "1"]) == 2
    assert "--bits takes 8-bit data" in capsys.readouterr().err
