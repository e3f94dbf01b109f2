"""Where tensors live: `--device auto|cpu|cuda|cuda:N|mps` and what differs between devices
(random number generator states, memory, synchronisation). Every part of vaekit follows the
device of the model it is given (`of(model)`); numbers and pictures come back to the CPU.
"""

from __future__ import annotations

import contextlib
import os

import torch

from .errors import VaekitError

NAMES = "auto | cpu | cuda | cuda:N | mps"


def _mps() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def resolve(name: str | torch.device | None = "auto") -> torch.device:
    """The torch.device a name stands for; one clear line when this machine has none."""
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if _mps() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise VaekitError(f"unknown device {name!r}; choose from {NAMES}") from None
    if device.type == "cuda":
        return _cuda(device)
    if device.type == "mps" and not _mps():
        raise VaekitError("--device mps: this machine has no Apple MPS device (use --device cpu)")
    if device.type not in ("cpu", "mps"):
        raise VaekitError(f"unsupported device {name!r}; choose from {NAMES}")
    return device


def _cuda(device: torch.device) -> torch.device:
    if not torch.cuda.is_available():
        raise VaekitError(f"--device {device}: this machine has no CUDA device "
                          "(use --device cpu, or auto)")
    count = torch.cuda.device_count()
    index = device.index
    if index is None:   # one process per GPU under torchrun
        index = int(os.environ.get("LOCAL_RANK", 0)) if int(os.environ.get("WORLD_SIZE", 1)) > 1 \
            else 0
    if not 0 <= index < count:
        raise VaekitError(f"--device cuda:{index}: this machine has {count} CUDA device(s), "
                          f"cuda:0..cuda:{count - 1}")
    return torch.device("cuda", index)


def of(module: torch.nn.Module) -> torch.device:
    """The device of a module's first parameter or buffer (the CPU for an empty one)."""
    for tensor in module.parameters():
        return tensor.device
    for tensor in module.buffers():
        return tensor.device
    return torch.device("cpu")


def prefer_layouts(model: torch.nn.Module, device: torch.device) -> None:
    """On a CPU, transposed convolutions' weights channels-last: oneDNN then computes them and
    what follows channels-last (the conv VAE's step 3.8% faster at 2 threads; convolutions that
    go down did not gain). Values are unchanged; checkpoints are saved contiguous."""
    if device.type != "cpu":
        return
    for module in model.modules():
        if isinstance(module, torch.nn.ConvTranspose2d):
            module.to(memory_format=torch.channels_last)


def accumulator(device: torch.device) -> torch.device:
    """Where float64 sums go: the device itself, except MPS, which has no float64."""
    return torch.device("cpu") if device.type == "mps" else device


def rng_state(device: torch.device) -> torch.Tensor | None:
    """The global RNG state of an accelerator (None for the CPU, whose state torch keeps apart)."""
    if device.type == "cuda":
        return torch.cuda.get_rng_state(device)
    if device.type == "mps":
        return torch.mps.get_rng_state()
    return None


def set_rng_state(device: torch.device, state: torch.Tensor) -> None:
    if device.type == "cuda":
        torch.cuda.set_rng_state(state, device)
    elif device.type == "mps":
        torch.mps.set_rng_state(state)


def seed(device: torch.device, value: int) -> None:
    """Seed the CPU's RNG and the device's (only that one: other GPUs keep theirs)."""
    torch.random.default_generator.manual_seed(value)
    if device.type == "cuda":
        with torch.cuda.device(device):
            torch.cuda.manual_seed(value)
    elif device.type == "mps":
        torch.mps.manual_seed(value)


@contextlib.contextmanager
def seeded(device: torch.device, value: int):
    """Draw with a fixed seed inside, on the CPU and `device`, and restore both RNGs after
    (fork_rng(devices=[]) with manual_seed would reseed every GPU and restore none)."""
    cpu, own = torch.get_rng_state(), rng_state(device)
    seed(device, value)
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if own is not None:
            set_rng_state(device, own)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (timing needs it; the CPU has none)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def free_memory(device: torch.device) -> int | None:
    """Bytes free on an accelerator; None for the CPU (its memory is the operating system's)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "mps":
        return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    return None


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> int | None:
    """Peak bytes allocated on a CUDA device since the last reset (None elsewhere)."""
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
