"""Models side by side (compare.py): runs on different datasets are refused before a dataset is
loaded or a sample drawn, and the table shows a missing number as a dash. (The command, with the FID
classifier: cli/test_compare.py.)"""

import pytest

from vaekit import DataConfig, TrainConfig, VaekitError, build_model, checkpoint
from vaekit.compare import LEGEND, compare_runs, format_rows

from conftest import tiny


def test_runs_on_different_datasets_are_refused(tmp_path):
    folders = []
    for dataset in ("digits", "fashion-mnist"):
        config = TrainConfig(model=tiny(), data=DataConfig(dataset))
        model = build_model(config.model, (1, 8, 8))
        folders.append(checkpoint.save(tmp_path / dataset, model, config, epoch=1, step=1))
    with pytest.raises(VaekitError, match="runs on different datasets cannot be compared: "
                                          r"\['digits', 'fashion-mnist'\]"):
        compare_runs(folders, out_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_table_has_a_row_per_model_and_a_dash_where_there_is_no_likelihood():
    rows = [{"model": "a-long-run-name: vae (conv, gaussian, dlogistic-mix, elbo)",
             "samples": "prior", "test_nll": 80.123, "test_bits_per_dim": 0.1474,
             "test_elbo": -85.5, "fid": 1.5, "class_entropy": 0.25, "marginal_class_entropy": 2.3,
             "train_seconds": 12.0},
            {"model": "gan", "samples": "prior", "test_nll": None, "test_bits_per_dim": None,
             "test_elbo": None,
             "fid": 9.0, "class_entropy": 0.5, "marginal_class_entropy": 1.0,
             "train_seconds": 3.0}]
    lines = format_rows(rows).splitlines()
    assert lines[0].split() == ["model", "samples", "NLL", "bits/dim", "ELBO", "FID", "H(y|x)",
                                "H(y)", "train", "s"]
    assert lines[1].split()[-8:] == ["prior", "80.12", "0.1474", "-85.50", "1.50", "0.250",
                                     "2.300", "12.0"]
    assert lines[1].startswith(rows[0]["model"] + " ")      # whole, however long
    assert lines[2].split() == ["gan", "prior", "-", "-", "-", "9.00", "0.500", "1.000", "3.0"]
    assert lines[-1] == LEGEND and len(lines) == 4


def test_without_fid_the_table_shows_dashes_and_says_why():
    from vaekit.compare import NO_FID
    rows = [{"model": "vae", "samples": "prior", "test_nll": 80.0, "test_elbo": -85.0,
             "train_seconds": 12.0, **NO_FID}]
    lines = format_rows(rows).splitlines()
    assert lines[1].split() == ["vae", "prior", "80.00", "-", "-85.00", "-", "-", "-", "12.0"]
    assert lines[2].startswith("FID skipped (--no-fid)") and lines[-1] == LEGEND


def test_each_row_of_the_figure_is_named_at_its_left(tmp_path):
    import numpy as np
    import torch
    from PIL import Image
    from vaekit.compare import labelled_grid
    from vaekit.plots import grid_pixels
    rows = [torch.rand(12, 1, 8, 8), torch.rand(12, 1, 8, 8), torch.rand(5, 1, 8, 8)]
    bare = grid_pixels(torch.cat(rows).numpy(), 12)
    labelled_grid(rows, ["vae-run", "gan-run", "real (test)"], tmp_path / "c.png")
    picture = np.asarray(Image.open(tmp_path / "c.png").convert("L"))
    margin = picture.shape[1] - bare.shape[2]
    assert picture.shape[0] == bare.shape[1] and margin > 30
    step = picture.shape[0] // 3
    for i in range(3):                 # dark text in the margin beside each row
        assert (picture[i * step:(i + 1) * step, :margin] < 128).any(), i
