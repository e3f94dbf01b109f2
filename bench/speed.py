"""Benchmark: training throughput against this machine's matrix-product bound, K=5000
evaluation time, and peak memory, on a device (issues "Speed" and "Run where users run").

For each model (the Burda one-layer VAE 784-200-200-50 at batch 128 and at batch 1024, the
two-layer hierarchical VAE, the Gumbel-softmax VAE, the conv and resnet networks; Fashion-MNIST,
dynamic binarization, Adam 1e-3, 2 threads on a CPU):
- `train_examples_per_s`: vaekit.train's own figure (training steps only, after 20 warm-up steps);
- `gemm_bound_examples_per_s`: the matrix products of one training step of that very model
  (forward and backward, recorded at the aten level: their shapes, strides and count) are timed
  alone, best of several repetitions; the batch size over that time is the most any
  implementation of the step could reach here in float32;
- `ratio_to_bound`: the first over the second;
- `train_peak_rss_mb`: peak resident memory of the process while it trained;
- on a GPU (`--device cuda`): `train_peak_device_mb`, the peak memory allocated on it, and no
  matrix-product bound (it is a CPU measurement).
The one-layer model is trained for --epochs (5) and then evaluated: the test NLL with K=5000 on
all 10,000 test images (time, peak memory, the chunk size that bounds it), and, on the first
--ref-n images, the same estimate from a deliberately plain evaluator (one image at a time,
torch.distributions throughout), whose mean must agree within its standard error.
Prints one JSON line per model and one for the evaluation.

    python bench/speed.py                      # the CPU models (about 8 minutes here)
    python bench/speed.py --models one-layer --eval-n 1000
    python bench/speed.py --device cuda --models one-layer,one-layer-1024,conv,resnet
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import tempfile
import threading
import time

import torch
from torch.distributions import Bernoulli, Normal
from torch.utils._python_dispatch import TorchDispatchMode

import vaekit
from vaekit import devices
from vaekit.data import Batches
from vaekit.evaluation import MAX_ROWS, log_likelihood, rows_for
from vaekit.training import loss_fn

NETS = {"name": "mlp", "encoder_hidden": (512, 256), "decoder_hidden": (256, 512)}
MODELS = {
    "one-layer": vaekit.ModelConfig(),
    "one-layer-1024": vaekit.ModelConfig(),
    "hierarchical": vaekit.ModelConfig.two_layer(),
    "gumbel-softmax": vaekit.ModelConfig(latent="categorical", network=NETS),
    "conv": vaekit.ModelConfig(network="conv"),
    "resnet": vaekit.ModelConfig(network="resnet"),
}
BATCH = {"one-layer-1024": 1024}
CPU_DEFAULT = "one-layer,hierarchical,gumbel-softmax"
GEMMS = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
         torch.ops.aten.baddbmm.default}


class PeakRSS:
    """Peak resident memory (MB) of this process while inside the block, sampled every 5 ms."""

    def __enter__(self):
        self.before = self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def now() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.now())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


class RecordGemms(TorchDispatchMode):
    """Every matrix product run inside the block: (op, [(shape, stride) of each tensor arg])."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in GEMMS:
            self.calls.append((func, [(tuple(a.shape), a.stride()) for a in args
                                      if torch.is_tensor(a)]))
        return func(*args, **(kwargs or {}))


def gemm_bound(calls, batch: int, repeats: int = 7, steps: int = 100) -> float:
    """Examples/s if a training step were nothing but its recorded matrix products."""
    def like(shape, stride):        # the same layout, e.g. a column slice or a transpose
        storage = 1 + sum((n - 1) * st for n, st in zip(shape, stride))
        return torch.randn(storage).as_strided(shape, stride)

    runs = [(op, [like(*s) for s in spec]) for op, spec in calls]
    best = math.inf
    for r in range(repeats + 1):
        start = time.perf_counter()
        for _ in range(steps):
            for op, args in runs:
                op(*args)
        if r:                                   # the first round warms up
            best = min(best, (time.perf_counter() - start) / steps)
    return batch / best


def step_gemms(config: vaekit.TrainConfig, splits) -> list:
    model = vaekit.build_model(config.model, splits.event_shape).train()
    xb = next(iter(Batches(splits.train, config.batch_size, splits.preprocess, splits.levels,
                           0)))
    with RecordGemms() as rec:
        loss, _, _ = loss_fn(model, xb, config, 1.0)
        loss.backward()
    return rec.calls


def train_speed(name: str, config: vaekit.TrainConfig, splits) -> tuple[dict, vaekit.VAE]:
    device = devices.resolve(config.device)
    devices.reset_peak_memory(device)
    with PeakRSS() as mem, tempfile.TemporaryDirectory() as run_dir:
        result = vaekit.train(config, run_dir, progress=False, final_eval=False, splits=splits)
    rate = result.examples_per_s
    row = {"model": name, "device": str(device), "epochs": config.epochs,
           "batch_size": config.batch_size, "threads": config.threads,
           "precision": config.precision, "compile": config.compile,
           "train_examples_per_s": round(rate), "train_peak_rss_mb": round(mem.peak),
           "rss_before_mb": round(mem.before)}
    if device.type != "cpu":
        return {**row, "train_peak_device_mb": round((devices.peak_memory(device) or 0) / 2**20)
                }, result.model
    calls = step_gemms(config, splits)
    bound = gemm_bound(calls, config.batch_size)
    flops = sum(2 * math.prod(spec[-2][0]) * spec[-1][0][-1] for _, spec in calls)
    return {**row, "gemm_bound_examples_per_s": round(bound),
            "ratio_to_bound": round(rate / bound, 3), "gemms_per_step": len(calls),
            "gemm_mflop_per_example": round(flops / config.batch_size / 1e6, 3),
            "gemm_gflop_per_s": round(flops / config.batch_size * bound / 1e9, 1)}, result.model


@torch.no_grad()
def plain_log_likelihood(model, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The unoptimized reference: one image at a time, torch.distributions' own log_probs."""
    values, errors = [], []
    for xi in x.to(devices.of(model)):
        mu, pre = model.encoder(xi).chunk(2)
        q = Normal(mu, torch.nn.functional.softplus(pre) + 1e-5)
        z = q.sample((k,))
        log_w = (Bernoulli(logits=model.decoder(z)).log_prob(xi).flatten(1).sum(-1)
                 + Normal(0.0, 1.0).log_prob(z).sum(-1) - q.log_prob(z).sum(-1)).double()
        value = torch.logsumexp(log_w, 0) - math.log(k)
        w_rel = torch.exp(log_w - value)
        values.append(value)
        errors.append(((w_rel - 1).pow(2).sum() / (k - 1) / k).sqrt())
    return torch.stack(values), torch.stack(errors)


def eval_speed(model, test: torch.Tensor, k: int, n: int, ref_n: int,
               max_rows: int | None) -> dict:
    device = devices.of(model)
    x = test[:n].to(device)
    devices.reset_peak_memory(device)
    torch.manual_seed(0)
    with PeakRSS() as mem:
        devices.synchronize(device)
        start = time.perf_counter()
        ll = log_likelihood(model, x, k=k, max_rows=max_rows)
        devices.synchronize(device)
        seconds = time.perf_counter() - start
    torch.manual_seed(1)
    start = time.perf_counter()
    ref, ref_mc = plain_log_likelihood(model, x[:ref_n], k)
    ref_seconds = time.perf_counter() - start
    # the same images through both: the mean difference, with its standard error from the
    # spread of the per-image differences (the delta-method errors of importance sampling run
    # small when the weights are heavy-tailed, so they are reported but not used here)
    d = ll.per_example[:ref_n] - ref
    diff, diff_se = d.mean().item(), d.std().item() / math.sqrt(ref_n)
    delta_se = math.sqrt((ll.mc_se[:ref_n].pow(2).sum() + ref_mc.pow(2).sum()).item()) / ref_n
    return {"eval": "log_likelihood", "device": str(device), "k": k, "n": n,
            "max_rows": max_rows or rows_for(model),
            "eval_peak_device_mb": round((devices.peak_memory(device) or 0) / 2**20),
            "test_nll": round(-ll.mean, 3), "test_nll_se": round(ll.se, 3),
            "test_nll_mc_se": round(ll.mean_mc_se, 4), "eval_seconds": round(seconds, 1),
            "eval_peak_rss_mb": round(mem.peak), "rss_before_mb": round(mem.before),
            "plain_evaluator_n": ref_n,
            "plain_evaluator_seconds_per_image": round(ref_seconds / ref_n, 3),
            "fast_minus_plain_nats": round(diff, 4), "difference_se": round(diff_se, 4),
            "difference_delta_method_se": round(delta_se, 4),
            "agree_within_3_se": abs(diff) <= 3 * diff_se}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", help=f"comma-separated, of {', '.join(MODELS)} (default: "
                                    f"{CPU_DEFAULT} on a CPU, one-layer,one-layer-1024,conv,"
                                    "resnet elsewhere)")
    p.add_argument("--device", default="cpu", help="cpu (default) | cuda | cuda:N | mps | auto")
    p.add_argument("--precision", default="float32")
    p.add_argument("--compile", action="store_true", help="torch.compile the networks")
    p.add_argument("--epochs", type=int, default=5, help="for the one-layer model")
    p.add_argument("--other-epochs", type=int, default=1, help="for the other models")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-k", type=int, default=5000)
    p.add_argument("--eval-n", type=int, default=10000)
    p.add_argument("--ref-n", type=int, default=100)
    p.add_argument("--max-rows", type=int,
                   help=f"decoder rows per evaluation chunk (default: {MAX_ROWS} on a CPU, "
                        "sized by free memory on a GPU)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    device = devices.resolve(args.device)
    models = args.models or (CPU_DEFAULT if device.type == "cpu" else
                             "one-layer,one-layer-1024,conv,resnet")
    data = vaekit.DataConfig("fashion-mnist", valid_fraction=0.0)
    splits = vaekit.prepare(data, "bernoulli")
    trained = None
    for name in models.split(","):
        config = vaekit.TrainConfig(
            model=MODELS[name], data=data, threads=args.threads, device=str(device),
            batch_size=BATCH.get(name, 128), precision=args.precision, compile=args.compile,
            epochs=args.epochs if name == "one-layer" else args.other_epochs)
        row, model = train_speed(name, config, splits)
        print(json.dumps(row), flush=True)
        if name == "one-layer":
            trained = model.eval()
    if trained is not None and args.eval_n > 0:
        row = eval_speed(trained, splits.test, args.eval_k, args.eval_n, args.ref_n, args.max_rows)
        print(json.dumps({**row, "threads": args.threads, "torch": torch.__version__,
                          "machine": platform.machine()}), flush=True)


if __name__ == "__main__":
    main()
