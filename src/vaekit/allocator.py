"""Freed memory kept in the process, where glibc's allocator would hand it back to the system.

A training step on the CPU allocates and frees the same tensors every step. glibc returns large
freed blocks to the system (above its mmap threshold, or at the heap's top above its trim
threshold), and the next step faults every page of them back in: the conv VAE's step at batch
128 took about 9,000 minor page faults and ran 16% slower than with the memory kept (73 against
87 ms at one thread, bench/loop_parts.py); the MLP's smaller tensors never leave. Training and
evaluation call `keep_freed_memory()`: glibc then serves blocks up to 32 MB from its heap and
keeps up to 1 GB free there. It is process-wide and lasts (glibc cannot be asked for its old
values); VAEKIT_KEEP_FREED_MEMORY=0 leaves the allocator alone. Elsewhere than glibc: nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3      # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20                        # glibc's largest (DEFAULT_MMAP_THRESHOLD_MAX)
TRIM_THRESHOLD = 1 << 30

_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, once per process; whether they are raised."""
    global _done
    if _done:
        return True
    if os.environ.get("VAEKIT_KEEP_FREED_MEMORY", "1") == "0" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _done = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _done
