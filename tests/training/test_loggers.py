"""What a run tells its user: TensorBoard event files (read back with TensorBoard's own
EventAccumulator), metric names with their meaning."""

import json

import pytest
from safetensors.numpy import load_file

from vaekit.cli import main
from vaekit.evaluation import MEANINGS

from test_config_file import TINY, train


event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator",
    reason="tensorboard is not installed (pip install 'vaekit[tensorboard]')")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return (train(root, "tb", *TINY, "--logger", "tensorboard", "--image-every", "1"),
            train(root, "plain", *TINY))


def test_tensorboard_has_every_epochs_numbers_and_pictures(runs):
    run, _ = runs
    acc = event_accumulator.EventAccumulator(str(run), size_guidance={"images": 0})
    acc.Reload()
    tags = acc.Tags()
    for tag in ("train/elbo", "train/kl", "valid/elbo", "valid/rec_log_lik", "valid/kl",
                "valid/active_units", "run/lr", "run/examples_per_s", "run/skipped_steps",
                "run/beta"):
        assert tag in tags["scalars"], (tag, tags["scalars"])
    log = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    elbo = acc.Scalars("valid/elbo")
    assert [e.step for e in elbo] == [1, 2]
    assert [e.value for e in elbo] == pytest.approx([r["valid_elbo"] for r in log], rel=1e-6)
    assert [e.value for e in acc.Scalars("run/examples_per_s")] == \
        pytest.approx([r["examples_per_s"] for r in log], rel=1e-6)
    assert set(tags["images"]) >= {"samples", "reconstructions"}
    samples = acc.Images("samples")
    assert [s.step for s in samples] == [1, 2] and samples[0].width > 8


def test_tensorboard_pictures_leave_training_as_it_was(runs):
    tb, plain = runs
    assert not list(plain.glob("events.out.tfevents*"))     # jsonl: metrics.jsonl only
    a, b = (load_file(str(r / "best" / "model.safetensors")) for r in runs)
    assert all((a[k] == b[k]).all() for k in a)


def test_metrics_say_what_they_are(runs, capsys):
    _, run = runs
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert "log_lik" not in test
    assert test["log_px"] == -test["nll"]
    described = set(MEANINGS) | {"bits_per_dim_of"}
    assert set(test) <= described, set(test) - described       # every number says what it is
    capsys.readouterr()
    assert main(["evaluate", str(run), "--k", "20", "--n", "10", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "E_q[log p(x|z)]: the reconstruction term (not log p(x))" in out
    assert "nats" in out and "bits/dim" in out
