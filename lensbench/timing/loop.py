"""The measurement loop of one configuration: a cold first call kept apart, warm-up calls, then measured calls
until BOTH `repeats` calls are done AND `min_duration_s` of wall time has passed (optimum-benchmark's
`iterations` + `duration` rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class LoopResult(Generic[T]):
    cold: T  # the first call at this configuration (lazy init, autotune, compilation)
    warmup_calls: int
    samples: list[T] = field(default_factory=list)  # the measured calls
    measure_wall_s: float = 0.0  # wall time of the measured phase

    @property
    def calls(self) -> int:
        return 1 + self.warmup_calls + len(self.samples)


def check_loop_settings(warmup: int, repeats: int, min_duration_s: float, max_calls: int | None = None) -> None:
    from lensbench.errors import UserError

    if warmup < 0:
        raise UserError(f"--warmup must be 0 or more, got {warmup}")
    if repeats < 1:
        raise UserError(f"--repeats must be at least 1, got {repeats}")
    if min_duration_s < 0:
        raise UserError(f"--min-duration must be 0 or more seconds, got {min_duration_s}")
    if max_calls is not None and max_calls < repeats:
        raise UserError(f"--max-calls ({max_calls}) must be at least --repeats ({repeats})")


def measure(call: Callable[[], T], *, warmup: int, repeats: int, min_duration_s: float,
            max_calls: int | None = None, wall: Callable[[], float] = time.perf_counter) -> LoopResult[T]:
    """Run `call` once cold, `warmup` times unrecorded, then until `repeats` samples AND `min_duration_s` wall
    seconds (measured phase only). `max_calls` caps the measured calls (a guard for very fast calls)."""
    check_loop_settings(warmup, repeats, min_duration_s, max_calls)
    cold = call()
    for _ in range(warmup):
        call()
    result: LoopResult[T] = LoopResult(cold=cold, warmup_calls=warmup)
    t0 = wall()
    while True:
        result.samples.append(call())
        elapsed = wall() - t0
        if len(result.samples) >= repeats and elapsed >= min_duration_s:
            break
        if max_calls is not None and len(result.samples) >= max_calls:
            break
    result.measure_wall_s = wall() - t0
    return result
