"""Measurement value objects: `Latency` (raw samples kept, percentiles) and `Memory` (peaks, RSS).

Pure Python, no torch: reports and tests use them without a model. Modelled on optimum-benchmark's
`Latency`/`Memory` (`from_values`, cross-process merge by concatenating raw values and recomputing the
statistics, never by averaging percentiles).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

GIB = 2**30  # "GB" in lensbench's speed outputs means GiB (2^30 bytes), as torch and nvidia-smi count


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default 'linear')."""
    if not sorted_values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {q}")
    pos = (len(sorted_values) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


@dataclass(frozen=True)
class Latency:
    """Latencies in seconds of repeated calls; keeps every raw value.

    `std` is the sample standard deviation (n - 1 in the denominator; 0 for one value).
    """

    values: tuple[float, ...] = ()
    unit: str = "s"

    def __post_init__(self) -> None:
        bad = [v for v in self.values if not (isinstance(v, (int, float)) and math.isfinite(v))]
        if bad:
            raise ValueError(f"latency values must be finite numbers, got {bad[:3]}")
        if any(v < 0 for v in self.values):
            raise ValueError("negative latency measured: the clock or the synchronisation is wrong "
                             "(on GPU, add warm-up calls so lazy initialisation is not timed)")

    @classmethod
    def from_values(cls, values: Iterable[float], unit: str = "s") -> "Latency":
        return cls(tuple(float(v) for v in values), unit)

    @classmethod
    def merge(cls, parts: Iterable["Latency"]) -> "Latency":
        """Concatenate the raw values of several measurements (e.g. one per rank) and recompute."""
        parts = list(parts)
        units = {p.unit for p in parts}
        if len(units) > 1:
            raise ValueError(f"cannot merge latencies in different units: {sorted(units)}")
        return cls(tuple(v for p in parts for v in p.values), units.pop() if units else "s")

    # -- statistics ------------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return len(self.values)

    @property
    def total(self) -> float:
        return math.fsum(self.values)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.values else math.nan

    @property
    def std(self) -> float:
        n = self.count
        if n == 0:
            return math.nan
        if n == 1:
            return 0.0
        m = self.mean
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (n - 1))

    @property
    def cv_pct(self) -> float:
        """Coefficient of variation in percent (std / mean)."""
        m = self.mean
        return 100 * self.std / m if self.values and m > 0 else math.nan

    @property
    def min(self) -> float:
        return min(self.values) if self.values else math.nan

    @property
    def max(self) -> float:
        return max(self.values) if self.values else math.nan

    def p(self, q: float) -> float:
        return percentile(sorted(self.values), q)

    @property
    def p50(self) -> float:
        return self.p(50)

    @property
    def p90(self) -> float:
        return self.p(90)

    @property
    def p95(self) -> float:
        return self.p(95)

    @property
    def p99(self) -> float:
        return self.p(99)

    def per_second(self, units_per_call: float) -> float:
        """Throughput: units (images, megapixels) per second at the mean latency."""
        m = self.mean
        return units_per_call / m if self.values and m > 0 else math.nan

    def summary(self) -> dict[str, float | int]:
        return {"count": self.count, "mean": self.mean, "std": self.std, "cv_pct": self.cv_pct, "min": self.min,
                "p50": self.p50, "p90": self.p90, "p95": self.p95, "p99": self.p99, "max": self.max}

    def to_dict(self, include_values: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {"unit": self.unit, **self.summary()}
        if include_values:
            d["values"] = list(self.values)
        return d


@dataclass(frozen=True)
class Memory:
    """Memory of one configuration, in GiB. None = not measurable here (e.g. GPU peaks on CPU).

    `peak_alloc_gb` / `peak_reserved_gb`: torch.cuda.max_memory_allocated / max_memory_reserved after a reset
    at the start of the configuration. `rss_gb`: the process resident set size at the end of the configuration;
    `rss_peak_gb`: the process's peak RSS since it started (not resettable, so it only ever grows).
    """

    peak_alloc_gb: float | None = None
    peak_reserved_gb: float | None = None
    rss_gb: float | None = None
    rss_peak_gb: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def merge(cls, parts: Iterable["Memory"]) -> "Memory":
        """The maximum of each field over several measurements (e.g. ranks)."""
        parts = list(parts)

        def mx(name: str) -> float | None:
            vals = [getattr(p, name) for p in parts if getattr(p, name) is not None]
            return max(vals) if vals else None

        return cls(mx("peak_alloc_gb"), mx("peak_reserved_gb"), mx("rss_gb"), mx("rss_peak_gb"))

    def to_dict(self) -> dict[str, Any]:
        return {"peak_alloc_gb": self.peak_alloc_gb, "peak_reserved_gb": self.peak_reserved_gb,
                "rss_gb": self.rss_gb, "rss_peak_gb": self.rss_peak_gb, **self.extra}
