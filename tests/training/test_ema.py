"""--ema DECAY (training/ema.py): the average against its closed form, its swap in and out of
the model, and a run's checkpoints: the average where evaluation reads, the weights beside the
optimizer, and an exact resume."""

import pytest
import torch
from torch import nn

import vaekit
from vaekit import checkpoint
from vaekit.runs import Run
from vaekit.training.ema import SHADOW, WEIGHTS, WeightAverage


def test_the_average_is_the_exponentially_weighted_sum_of_the_weights():
    """a_n = d^n w_0 + sum_k (1 - d) d^(n-k) w_k over the weights after each update."""
    torch.manual_seed(0)
    net, d = nn.Linear(3, 2).double(), 0.8
    average = WeightAverage(net, d)
    seen = [net.weight.detach().clone()]
    for _ in range(6):
        with torch.no_grad():
            net.weight.add_(torch.randn_like(net.weight))
        seen.append(net.weight.detach().clone())
        average.update()
    n = len(seen) - 1
    expected = d ** n * seen[0] + sum((1 - d) * d ** (n - k) * seen[k] for k in range(1, n + 1))
    torch.testing.assert_close(average.average["weight"], expected)


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
    result = vaekit.train(_config(epochs=2), tmp_path / "whole", progress=False)
    newest = checkpoint.read(Run(tmp_path / "whole").checkpoints()[0])
    model = newest.tensors("model.safetensors")
    trainer = {k.split(".", 1)[1]: v for k, v in newest.tensors("optimizer.safetensors").items()
               if k.startswith("trainer.")}
    name = next(k for k in model if k.startswith("decoder"))
    torch.testing.assert_close(model[name], trainer[SHADOW + name])
    assert not torch.equal(trainer[SHADOW + name], trainer[WEIGHTS + name])   # it averages
    # the model train returns, and what evaluate reads, is the best epoch's average
    best = checkpoint.read(Run(tmp_path / "whole").best).tensors("model.safetensors")
    assert all(torch.equal(best[k], v.cpu()) for k, v in result.model.state_dict().items())
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
