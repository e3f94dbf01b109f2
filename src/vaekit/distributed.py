"""Data parallelism over processes started by torchrun, on torch.distributed.

    torchrun --nproc-per-node 2 -m vaekit train ...          # one machine, two processes

Every process holds the whole model; DistributedDataParallel averages the gradients (nccl on
GPUs, gloo on CPUs). Each process trains on its own rows of the same global batch, so a global
batch is the same whatever the number of processes. Process 0 alone writes; evaluation splits
the examples. Without torchrun's environment (WORLD_SIZE unset or 1) this is all a no-op.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from . import devices


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def will_be_main() -> bool:
    """`is_main`, also before `init`: then whether torchrun named this process rank 0."""
    return is_main() if dist.is_initialized() else int(os.environ.get("RANK", "0")) == 0


_device = torch.device("cpu")      # where the collectives' tensors go (nccl: the GPU)


def requested() -> bool:
    """Whether torchrun started more than one process (before or after `init`)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: torch.device = torch.device("cpu")) -> bool:
    """Join torchrun's process group (nccl on CUDA, else gloo); True with several processes."""
    global _device
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
        _device = device
    else:
        dist.init_process_group("gloo")
    return True


def wrap(module: torch.nn.Module) -> torch.nn.Module:
    """`module` under DistributedDataParallel, on this process's GPU where it has one."""
    index = [_device.index] if _device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=index)


def shutdown(wait: bool = True) -> None:
    """Leave the process group; `wait`: a barrier first (gloo aborts a peer still using it)."""
    global _device
    if dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()
    _device = torch.device("cpu")


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def rows(n: int) -> slice:
    """This process's share of n examples: every world_size-th one, from its rank."""
    return slice(rank(), n, world_size())


def sum_all(t: torch.Tensor) -> torch.Tensor:
    """Elementwise sum over processes (a copy, on t's device)."""
    if not dist.is_initialized():
        return t.clone()
    moved = t.to(_device, copy=True)
    dist.all_reduce(moved)
    return moved.to(t.device)


def gather_rows(local: torch.Tensor, n: int) -> torch.Tensor:
    """Inverse of `rows`: the [n, ...] tensor whose rows r::world_size are process r's `local`."""
    if not dist.is_initialized():
        return local
    size = world_size()
    width = -(-n // size)
    padded = local.new_zeros((width, *local.shape[1:]), device=_device)
    padded[:len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(size)]
    dist.all_gather(parts, padded)
    out = local.new_empty((n, *local.shape[1:]))
    for r, part in enumerate(parts):
        out[r::size] = part[:len(range(r, n, size))]
    return out


def map_rows(fn, x: torch.Tensor) -> torch.Tensor:
    """fn(x) [N, ...] computed with each process doing its own rows of x."""
    return gather_rows(fn(x[rows(len(x))]), len(x)) if dist.is_initialized() else fn(x)


def all_rng_states(device: torch.device = torch.device("cpu")):
    """(every process's CPU RNG state, every process's device RNG state), rank order."""
    own = devices.rng_state(device)
    states = [torch.get_rng_state()] + ([] if own is None else [own])
    states = [gather_all(t) if dist.is_initialized() else [t] for t in states]
    return states[0], (states[1] if own is not None else [])


def gather_all(t: torch.Tensor) -> list[torch.Tensor]:
    """Every process's `t` (the same shape everywhere), rank order, on the CPU."""
    moved = t.to(_device)
    parts = [torch.empty_like(moved) for _ in range(world_size())]
    dist.all_gather(parts, moved)
    return [p.cpu() for p in parts]
