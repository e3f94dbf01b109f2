"""Data parallelism over processes started by torchrun, on torch.distributed.

    torchrun --nproc-per-node 2 -m vaekit train ...          # one machine, two processes
    torchrun --nnodes 2 --node-rank R --nproc-per-node 8 \\
             --rdzv-backend c10d --rdzv-endpoint HOST:29500 -m vaekit train ...

Every process holds the whole model (DistributedDataParallel averages the gradients over gloo:
vaekit trains on the CPU, where nccl cannot go, even on a machine that has a GPU). Each draws the same shuffled global batch from the same data RNG and trains
on its own rows of it, so a global batch is the same whatever the number of processes. Process
0 alone writes metrics and checkpoints; evaluation splits the examples across processes and
gathers the per-example values, so every process computes the same report. Without torchrun's
environment (WORLD_SIZE unset or 1) everything here is a no-op.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def init() -> bool:
    """Join the process group torchrun describes; True when there is more than one process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return dist.is_initialized()
    dist.init_process_group("gloo")
    return True


def shutdown(wait: bool = True) -> None:
    """Leave the process group, once every process is done when `wait` (gloo aborts a process
    whose peer tears the group down while it is still using it). After an error, no wait: the
    other processes may never get there, and torchrun stops them."""
    if dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def rows(n: int) -> slice:
    """This process's share of n examples: every world_size-th one, from its rank."""
    return slice(rank(), n, world_size())


def sum_all(t: torch.Tensor) -> torch.Tensor:
    """Elementwise sum over processes (a copy)."""
    t = t.clone()
    if dist.is_initialized():
        dist.all_reduce(t)
    return t


def gather_rows(local: torch.Tensor, n: int) -> torch.Tensor:
    """Inverse of `rows`: the [n, ...] tensor whose rows r::world_size are process r's `local`."""
    if not dist.is_initialized():
        return local
    size = world_size()
    width = -(-n // size)
    padded = local.new_zeros((width, *local.shape[1:]))
    padded[:len(local)] = local
    parts = [torch.empty_like(padded) for _ in range(size)]
    dist.all_gather(parts, padded)
    out = local.new_empty((n, *local.shape[1:]))
    for r, part in enumerate(parts):
        count = len(range(r, n, size))
        out[r::size] = part[:count]
    return out


def map_rows(fn, x: torch.Tensor) -> torch.Tensor:
    """fn(x) [N, ...] computed with each process doing its own rows of x."""
    return gather_rows(fn(x[rows(len(x))]), len(x)) if dist.is_initialized() else fn(x)


def all_rng_states() -> list[torch.Tensor]:
    """torch's CPU RNG state of every process, rank order (for checkpoints)."""
    state = torch.get_rng_state()
    if not dist.is_initialized():
        return [state]
    states = [torch.empty_like(state) for _ in range(world_size())]
    dist.all_gather(states, state)
    return states
