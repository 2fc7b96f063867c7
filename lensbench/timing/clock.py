"""Clocks and timelines: CUDA events on GPU, `time.perf_counter` on CPU.

A `Timeline` records labelled marks during one call and turns them into seconds afterwards. With CUDA
events each mark is an event recorded on the device's current stream; the timeline synchronises once at the
end and reads all elapsed times then (optimum-benchmark's `LatencySessionTracker` recipe), so timing never
adds a synchronisation in the middle of the work. On CPU a mark is simply `perf_counter()`.
"""

from __future__ import annotations

import time
from typing import Any, Protocol


class Clock(Protocol):
    name: str

    def mark(self) -> Any:
        """A token for 'now' (a float or a recorded CUDA event)."""

    def sync(self) -> None:
        """Wait until all queued device work is done."""

    def seconds(self, a: Any, b: Any) -> float:
        """Seconds from token a to token b (call after sync)."""


class PerfCounterClock:
    name = "perf_counter"

    def mark(self) -> float:
        return time.perf_counter()

    def sync(self) -> None:
        pass

    def seconds(self, a: float, b: float) -> float:
        return b - a


class CudaEventClock:
    """CUDA events with timing enabled, recorded on `device`'s current stream."""

    name = "cuda_event"

    def __init__(self, device: str = "cuda"):
        import torch

        self._torch = torch
        self.device = torch.device(device)

    def mark(self):
        ev = self._torch.cuda.Event(enable_timing=True)
        ev.record(self._torch.cuda.current_stream(self.device))
        return ev

    def sync(self) -> None:
        self._torch.cuda.synchronize(self.device)

    def seconds(self, a, b) -> float:
        return a.elapsed_time(b) / 1000.0


class SyncedPerfCounterClock(PerfCounterClock):
    """perf_counter after a device synchronisation at every mark (Apple MPS: asynchronous, no CUDA events).
    The extra synchronisations can slow the timed call slightly; the timer name says so in the manifest."""

    name = "perf_counter+mps_sync"

    def __init__(self):
        import torch

        self._sync = torch.mps.synchronize

    def mark(self) -> float:
        self._sync()
        return time.perf_counter()

    def sync(self) -> None:
        self._sync()


def make_clock(device: str) -> Clock:
    """CUDA events on a CUDA device, synchronised perf_counter on MPS, perf_counter on CPU."""
    if str(device).startswith("cuda"):
        return CudaEventClock(device)
    if str(device).startswith("mps"):
        return SyncedPerfCounterClock()
    return PerfCounterClock()


class Timeline:
    """Labelled marks of one call; `resolve()` synchronises once and returns (label, seconds since first mark)."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.marks: list[tuple[str, Any]] = []

    def mark(self, label: str) -> None:
        self.marks.append((label, self.clock.mark()))

    def resolve(self) -> list[tuple[str, float]]:
        if not self.marks:
            return []
        self.clock.sync()
        first = self.marks[0][1]
        return [(label, self.clock.seconds(first, tok)) for label, tok in self.marks]
