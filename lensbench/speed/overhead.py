"""Harness overhead: the latency lensbench reports for a call vs a bare pipeline call on the same model.

Both sides use the same loaded pipeline and the same arguments. The bare side is what a user would time by
hand: keyword arguments (with fresh CPU generators) built beforehand, then ``pipe(**kw)`` under
``torch.inference_mode()`` between two clock reads (with a CUDA synchronisation on GPU). The lensbench side is
the measured call of ``lensbench speed`` (adapter ``generate`` with the stage tracker installed: wrapped
encode/decode, step callback, timeline marks). Calls alternate (ABBA order) so drift of a shared machine hits
both sides alike. Reported: the ratio of medians and of minima (goal: within 2 %, i.e. ratio <= 1.02), and
the harness's own bookkeeping per call (`instrumentation_s`: begin, wrapped-stage entries, one mark per step,
end and split, timed alone around no-op stages), which is what the ratio would show on a quiet machine.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from lensbench.generators import GenerationRequest, Generator
from lensbench.timing.clock import make_clock
from lensbench.timing.stages import StageTracker


def harness_overhead(gen: Generator, requests: list[GenerationRequest], *, rounds: int = 10, warmup: int = 2,
                     device: str = "cpu") -> dict[str, Any]:
    """Interleaved bare vs lensbench timings of `requests` on the loaded diffusers-style generator `gen`."""
    import torch

    pipe = gen.pipeline()
    cuda = str(device).startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    def bare() -> float:
        kw = gen.call_kwargs(requests)
        sync()
        t = time.perf_counter()
        with torch.inference_mode():
            pipe(**kw)
        sync()
        return time.perf_counter() - t

    tracker = StageTracker(make_clock(device))
    tracker.install(pipe)

    def harness() -> float:
        tracker.begin()
        gen.generate(requests, step_callback=tracker.step_callback)
        return tracker.end().total_s

    try:
        for _ in range(warmup):
            bare()
            harness()
        b: list[float] = []
        h: list[float] = []
        for i in range(rounds):
            if i % 2 == 0:
                b.append(bare())
                h.append(harness())
            else:
                h.append(harness())
                b.append(bare())
    finally:
        tracker.uninstall()
    mb, mh = statistics.median(b), statistics.median(h)
    instr = instrumentation_cost(requests[0].steps)
    return {"rounds": rounds, "bare_median_s": mb, "lensbench_median_s": mh, "ratio": mh / mb,
            "overhead_pct": 100 * (mh / mb - 1), "ratio_min": min(h) / min(b),
            "paired_ratio_median": statistics.median(x / y for x, y in zip(h, b)),
            "instrumentation_s": instr, "instrumentation_pct": 100 * instr / mb, "bare_s": b, "lensbench_s": h}


def instrumentation_cost(steps: int, repeats: int = 200) -> float:
    """Best-of-`repeats` seconds of the tracker's own work for one call with `steps` steps (CPU clock)."""

    class _Vae:
        def decode(self, x):
            return x

    class _Pipe:
        vae = _Vae()

        def encode_prompt(self, p):
            return p

    pipe = _Pipe()
    tracker = StageTracker(make_clock("cpu"))
    tracker.install(pipe)
    best = float("inf")
    try:
        for _ in range(repeats):
            t = time.perf_counter()
            tracker.begin()
            pipe.encode_prompt("p")
            for i in range(steps):
                tracker.step_callback(i, None)
            pipe.vae.decode(None)
            tracker.end()
            best = min(best, time.perf_counter() - t)
    finally:
        tracker.uninstall()
    return best
