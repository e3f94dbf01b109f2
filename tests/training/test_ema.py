"""--ema DECAY (training/ema.py): the average against its closed form, its swap in and out of
the model, and a run's checkpoints: the average where evaluation reads, the weights beside the
optimizer, and an exact resume."""

import math

import pytest
import torch
from torch import nn

import vaekit
from vaekit import checkpoint
from vaekit.runs import Run
from vaekit.training.ema import SHADOW, WEIGHTS, WeightAverage


def test_the_average_is_the_exponentially_weighted_sum_of_the_weights():
    """a_N = prod_k d_k w_0 + sum_k (1 - d_k) prod_(j>k) d_j w_k over the weights w_k after the
    k-th update, with the warm-up's d_k = min(d, k / (9 + k)) (k = 1, 2, ...)."""
    torch.manual_seed(0)
    net, d = nn.Linear(3, 2).double(), 0.8
    average = WeightAverage(net, d)
    seen = [net.weight.detach().clone()]
    for _ in range(40):
        with torch.no_grad():
            net.weight.add_(torch.randn_like(net.weight))
        seen.append(net.weight.detach().clone())
        average.update()
    n = len(seen) - 1
    decays = [None] + [min(d, k / (9 + k)) for k in range(1, n + 1)]
    assert decays[1] == pytest.approx(0.1) and decays[n] == d      # warm-up, then d
    after = [math.prod(decays[k + 1:]) for k in range(n + 1)]     # prod_(j>k) d_j
    expected = after[0] * seen[0] + sum((1 - decays[k]) * after[k] * seen[k]
                                        for k in range(1, n + 1))
    torch.testing.assert_close(average.average["weight"], expected)
    assert average.updates == n


def test_the_model_holds_the_average_inside_applied_and_its_weights_after():
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    average = WeightAverage(net, 0.5)
    with torch.no_grad():
        net.weight.add_(1.0)
    average.update()
    weights = net.weight.detach().clone()
    with average.applied():
        torch.testing.assert_close(net.weight.detach(), average.average["weight"])
        assert not torch.equal(net.weight.detach(), weights)
        torch.testing.assert_close(average.tensors()[WEIGHTS + "weight"], weights)
    torch.testing.assert_close(net.weight.detach(), weights)


def _config(**kw):
    return vaekit.TrainConfig(model=vaekit.ModelConfig(), data=vaekit.DataConfig("digits"),
                              eval_k=5, eval_n=5, threads=1, ema=0.9, **kw)


def test_checkpoints_hold_the_average_for_evaluation_and_the_weights_to_resume(tmp_path):
    result = vaekit.train(_config(epochs=2), tmp_path / "whole", progress=False,
                          final_eval=False)
    newest = checkpoint.read(Run(tmp_path / "whole").checkpoints()[0])
    model = newest.tensors("model.safetensors")
    trainer = {k.split(".", 1)[1]: v for k, v in newest.tensors("optimizer.safetensors").items()
               if k.startswith("trainer.")}
    name = next(k for k in model if k.startswith("decoder"))
    torch.testing.assert_close(model[name], trainer[SHADOW + name])
    assert not torch.equal(trainer[SHADOW + name], trainer[WEIGHTS + name])   # it averages
    # the model train returns is the last average (not its weights), as saved
    assert all(torch.equal(model[k], v) for k, v in result.model.state_dict().items())
    assert int(trainer["ema.updates"]) == newest.meta["step"]
    # one epoch, then a resumed second: the same average and weights bit for bit
    vaekit.train(_config(epochs=1), tmp_path / "parts", progress=False, final_eval=False)
    vaekit.train(None, tmp_path / "parts", resume=True, epochs=2, progress=False,
                 final_eval=False)
    again = checkpoint.read(Run(tmp_path / "parts").checkpoints()[0])
    for file in ("model.safetensors", "optimizer.safetensors"):
        a, b = newest.tensors(file), again.tensors(file)
        assert all(torch.equal(a[k], b[k]) for k in a if "trainer.ema" in k or file[0] == "m")


def test_a_decay_outside_zero_to_one_is_one_line():
    with pytest.raises(vaekit.VaekitError, match=r"ema must be in \[0, 1\)"):
        vaekit.TrainConfig(ema=1.0).validate()


def test_a_rollback_brings_back_the_checkpoints_average_and_weights(tmp_path, monkeypatch):
    """Ten NaN batches in epoch 2 roll the run back to epoch 1's checkpoint: its average, its
    weights and its update count come back (else the count would run ahead of the steps by
    the failed attempt's), and the run ends finite."""
    from vaekit.data import prepare
    from training.test_runstate import events, poisoned
    config = _config(epochs=3, nan_patience=10, batch_size=64)
    per_epoch = -(-len(prepare(config.data, "bernoulli").train) // config.batch_size)
    poisoned(monkeypatch, set(range(per_epoch + 3, per_epoch + 13)))
    restored = []
    real = WeightAverage.restore

    def restore(self, tensors):
        real(self, tensors)
        restored.append((self.updates, {n: a.clone() for n, a in self.average.items()}))
    monkeypatch.setattr(WeightAverage, "restore", restore)
    result = vaekit.train(config, tmp_path / "r", progress=False, final_eval=False)
    assert [e["event"] for e in events(result.run_dir)][-1] == "rollback"
    first = checkpoint.read(Run(tmp_path / "r").checkpoint(1))
    saved = {k.split(".", 1)[1]: v for k, v in first.tensors("optimizer.safetensors").items()
             if k.startswith("trainer.")}
    updates, average = restored[0]
    assert updates == per_epoch == int(saved["ema.updates"])
    assert all(torch.equal(average[n], saved[SHADOW + n]) for n in average)
    newest = checkpoint.latest(result.run_dir)
    ends = {k.split(".", 1)[1]: v for k, v in newest.tensors("optimizer.safetensors").items()
            if k.startswith("trainer.")}
    assert int(ends["ema.updates"]) == newest.meta["step"] == 3 * per_epoch
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
