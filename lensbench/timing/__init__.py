"""Timing for the speed suite: measurement value objects, clocks, memory, stage split, the measurement loop.

- `measures`: `Latency` (raw samples; mean, std, cv%, min, p50/p90/p95/p99, merge) and `Memory`;
- `clock`: `CudaEventClock` (CUDA events, one synchronisation per call) / `PerfCounterClock`, `Timeline`;
- `memory`: `MemoryTracker` (flush + peak reset per configuration, RSS);
- `stages`: `StageTracker` (wraps encode_prompt / vae.decode / refine_prompt on a pipeline instance, step
  callback) and `StageTimes`;
- `loop`: `measure()` (cold call apart, warm-up, repeats AND min-duration).

Nothing here imports torch at import time.
"""

from lensbench.timing.measures import Latency, Memory

__all__ = ["Latency", "Memory"]
