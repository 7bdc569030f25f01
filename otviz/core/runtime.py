"""Process-wide settings the app, the CLI and the benchmarks start with: torch threads and the allocator."""
from __future__ import annotations

import ctypes
import os
import sys

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20        # blocks below this come from the heap (glibc's largest allowed value)
TRIM_THRESHOLD = 128 << 20       # free memory kept at the top of a heap before it goes back to the OS


def configure_threads() -> int:
    """Use one torch CPU thread unless OTVIZ_TORCH_THREADS says otherwise.

    The 2-D methods run many small tensor ops: on 2-core machines a second intra-op thread made
    steps erratic and often slower, and the GUI thread needs a core of its own.
    """
    import torch

    n = int(os.environ.get("OTVIZ_TORCH_THREADS", "1"))
    if n > 0:
        torch.set_num_threads(n)
    return torch.get_num_threads()


def tune_allocator() -> bool:
    """Keep freed memory in the process (glibc only); True if the settings were applied.

    Every frame and every training step allocates the same few MB-sized arrays again (images, cost
    matrices, batches). glibc hands blocks of this size back to the OS when they are freed, so each
    new one is page-faulted in again, and zero-filling fresh pages takes a large share of a redraw or of
    a warm Sinkhorn re-solve, which touch little else. With fixed thresholds the blocks are reused.
    Skipped where the user set MALLOC_* variables, with OTVIZ_MALLOC_TUNING=0, and off glibc.
    """
    if os.environ.get("OTVIZ_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if any(k.startswith("MALLOC_") for k in os.environ):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version          # absent on musl and other C libraries
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


def configure_process() -> None:
    """What every otviz process does first: torch threads, then the allocator."""
    configure_threads()
    tune_allocator()
