"""The result schema every scorer writes and every report reads.

``<run>/results/<scorer>.json``::

    {"schema_version": 1, "run_id": str, "suite": {...suite.describe()}, "scorer": str,
     "scorer_version": str, "settings": {...every constant and backend...}, "model": {...},
     "created": iso8601, "metrics": [MetricValue.to_dict(), ...], "extra": {...}}

A `MetricValue` with ``category=None`` is a headline number (e.g. GenEval overall); with a category it is
a breakdown row (e.g. GenEval tag ``counting``). Values are in the unit the official benchmark prints
(GenEval: fraction in [0, 1]; DPG-Bench: percent 0-100).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class MetricValue:
    metric: str  # e.g. "geneval", "dpg", "word_accuracy", "latency_p50_s"
    value: float
    n: int  # number of resampling units (prompts, images) behind the value
    ci_low: float | None = None  # 95% bootstrap CI bounds (None when not computed)
    ci_high: float | None = None
    category: str | None = None  # None = headline; else a breakdown (tag, L1 category, language, ...)
    higher_is_better: bool = True
    unit: str = ""  # "fraction", "percent", "s", ...

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("value", "ci_low", "ci_high"):
            v = d[k]
            if isinstance(v, float) and math.isnan(v):
                d[k] = None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MetricValue":
        fields = {k: d.get(k) for k in cls.__dataclass_fields__}
        if fields["value"] is None:
            fields["value"] = float("nan")
        fields["higher_is_better"] = True if fields["higher_is_better"] is None else fields["higher_is_better"]
        fields["unit"] = fields["unit"] or ""
        return cls(**fields)
