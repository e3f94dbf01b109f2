"""The training step's precision and optimizer."""

from __future__ import annotations

import torch


def autocast(config, device: torch.device = torch.device("cpu")):
    """The training step's precision: "bfloat16" and "float16" run matrix products (and the work
    between them) under torch.autocast, with float32 weights, optimizer state and outputs, and
    evaluation in float32. On CPUs with AVX512-BF16, bfloat16 steps run 1.1-1.3x faster
    (bench/paired_step.py); without it several times slower. float16 needs `grad_scaler`."""
    dtype = {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(config.precision)
    return torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None)


def bfloat16_note(config, device: torch.device) -> str | None:
    """A one-line note when bfloat16 is asked of a CPU without bfloat16 matrix units (AVX512-BF16
    or AMX): there the bfloat16 matrix products are emulated, and the Fashion-MNIST MLP trained
    at about 3,000 examples/s against 18,000 in float32 on an AVX2 EPYC (bench/paired_loop.py
    --precision bfloat16)."""
    if config.precision != "bfloat16" or device.type != "cpu":
        return None
    try:
        supported = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    except (AttributeError, RuntimeError):
        return None
    return None if supported else (
        "vaekit: note: this CPU has no bfloat16 matrix units (AVX512-BF16 or AMX; torch sees "
        f"{torch.backends.cpu.get_cpu_capability()}): --precision bfloat16 trains several "
        "times slower than float32 here")


def grad_scaler(config, device: torch.device) -> torch.amp.GradScaler:
    """float16's dynamic loss scale (a no-op for the other precisions)."""
    return torch.amp.GradScaler(device.type, enabled=config.precision == "float16")


def make_optimizer(params, lr: float, **kwargs) -> torch.optim.Optimizer:
    """Adam over a module's parameters (or a list of them)."""
    params = list(params.parameters() if isinstance(params, torch.nn.Module) else params)
    try:  # one fused kernel per step where this torch build has it
        return torch.optim.Adam(params, lr=lr, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True, **kwargs)


def make_scheduler(optimizer, config):
    if config.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs, config.min_lr)
    if config.lr_schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, config.lr_decay)
    return None
