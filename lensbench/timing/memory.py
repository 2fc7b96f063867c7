"""Memory tracking per configuration: GPU peaks (reset per configuration) and process RSS.

`MemoryTracker.reset()` is the "flush" between configurations that diffusers' `benchmarks/` does: garbage
collection, `torch.cuda.empty_cache()`, `reset_peak_memory_stats()`, and `torch.compiler.reset()` when
compiling. `read()` returns a `Memory` with `max_memory_allocated/reserved` since the reset.
"""

from __future__ import annotations

import gc
import os
import sys

from lensbench.timing.measures import GIB, Memory


def rss_bytes() -> int | None:
    """Current resident set size of this process (psutil when installed, else /proc/self/statm)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.Process().memory_info().rss)
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def rss_peak_bytes() -> int | None:
    """Peak RSS of this process since it started (getrusage; kB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _gb(n: int | None) -> float | None:
    return None if n is None else n / GIB


class MemoryTracker:
    def __init__(self, device: str):
        self.device = str(device)
        self.cuda = self.device.startswith("cuda")

    def reset(self, *, compiler: bool = False) -> None:
        gc.collect()
        if compiler and "torch" in sys.modules:
            import torch

            torch.compiler.reset()
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)

    def read(self) -> Memory:
        alloc = reserved = None
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            alloc = torch.cuda.max_memory_allocated(self.device)
            reserved = torch.cuda.max_memory_reserved(self.device)
        return Memory(peak_alloc_gb=_gb(alloc), peak_reserved_gb=_gb(reserved), rss_gb=_gb(rss_bytes()),
                      rss_peak_gb=_gb(rss_peak_bytes()))
