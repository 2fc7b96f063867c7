"""The result schema every scorer writes and every report reads: one dataclass, `RunResults`.

``<run>/results/<scorer>.json``::

    {"schema_version": 1, "run_id": str, "suite": {...suite.describe()}, "scorer": str,
     "scorer_version": str, "settings": {...every constant and backend...}, "model": {...},
     "generation": {...} | null, "created": iso8601, "n_units": int, "n_scored": int,
     "metrics": [MetricValue.to_dict(), ...],
     "fingerprint": {...the scorer fingerprint of exactly the records aggregated...}, "fingerprint_id": str,
     "coverage": {"prompts_scored", "prompts_total", "fraction", "categories_present", "categories_total",
                  "images_per_prompt", "language", "rewriter", "scorer_backend", "judge", "official_protocol",
                  "partial", "off_protocol_reasons"},
     "extra": {...}}

A `MetricValue` with ``category=None`` is a headline number (e.g. GenEval overall); with a category it is
a breakdown row (e.g. GenEval tag ``counting``). Values are in the unit the official benchmark prints
(GenEval: fraction in [0, 1]; DPG-Bench: percent 0-100). Results written before fingerprints and coverage
existed read back with ``fingerprint``/``coverage`` None: readers treat that as "unknown", never as full coverage.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
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


def fingerprint_id(fingerprint: dict[str, Any]) -> str:
    """Short id of a scorer fingerprint: the first 12 hex digits of the sha256 of its canonical JSON."""
    text = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


COVERAGE_KEYS: tuple[str, ...] = (
    "prompts_scored", "prompts_total", "fraction", "categories_present", "categories_total", "images_per_prompt",
    "language", "rewriter", "scorer_backend", "judge", "official_protocol", "partial", "off_protocol_reasons")


@dataclass
class RunResults:
    """One ``results/<scorer>.json`` (see the module docstring); `to_dict`/`from_dict` are exact inverses."""

    run_id: str
    scorer: str
    metrics: list[MetricValue]
    suite: dict[str, Any] = field(default_factory=dict)
    scorer_version: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    generation: dict[str, Any] | None = None
    created: str = ""
    n_units: int | None = None
    n_scored: int | None = None
    fingerprint: dict[str, Any] | None = None
    fingerprint_id: str | None = None
    coverage: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        d = {"schema_version": self.schema_version, "run_id": self.run_id, "suite": self.suite, "scorer": self.scorer,
             "scorer_version": self.scorer_version, "settings": self.settings, "model": self.model,
             "generation": self.generation, "created": self.created, "n_units": self.n_units,
             "n_scored": self.n_scored, "metrics": [m.to_dict() for m in self.metrics],
             "fingerprint": self.fingerprint, "fingerprint_id": self.fingerprint_id, "coverage": self.coverage}
        if self.extra:
            d["extra"] = self.extra
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, name: str = "") -> "RunResults":
        metrics = [MetricValue.from_dict(m) for m in d.get("metrics") or []]
        dicts = {k: d.get(k) if isinstance(d.get(k), dict) else None for k in ("fingerprint", "coverage", "generation")}
        return cls(run_id=str(d.get("run_id") or ""), scorer=str(d.get("scorer") or name), metrics=metrics,
                   suite=d.get("suite") or {}, scorer_version=str(d.get("scorer_version") or ""),
                   settings=d.get("settings") or {}, model=d.get("model") or {}, generation=dicts["generation"],
                   created=str(d.get("created") or ""), n_units=d.get("n_units"), n_scored=d.get("n_scored"),
                   fingerprint=dicts["fingerprint"], fingerprint_id=d.get("fingerprint_id"),
                   coverage=dicts["coverage"], extra=d.get("extra") or {},
                   schema_version=int(d.get("schema_version") or SCHEMA_VERSION))


def read_results(path: str | Path) -> RunResults:
    """Read one results JSON (a one-line UserError when it is missing or malformed)."""
    from lensbench.errors import UserError

    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return RunResults.from_dict(data, name=p.stem)
    except FileNotFoundError:
        raise UserError(f"{p} does not exist; run `lensbench score` for that run first") from None
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{p} is not a readable results file ({exc}); re-run `lensbench score` for that run") from None


def write_results(path: str | Path, results: RunResults) -> None:
    """Write atomically (temp file + rename)."""
    from lensbench.store.atomic import write_json_atomic

    write_json_atomic(path, results.to_dict())


def score_stream(scorer: str) -> str:
    """The record stream of a scorer's per-unit records (one stream; each record carries its fingerprint_id)."""
    return f"score.{scorer}"


def score_records(store: Any, scorer: str, fingerprint_id: str | None) -> list[dict[str, Any]]:
    """The per-unit records of `scorer` made under `fingerprint_id`, last record per key winning (a unit scored
    again under the same fingerprint, e.g. after a kill). Records of other fingerprints are never returned, so
    results never mix settings; ``fingerprint_id=None`` returns records without one (runs scored before
    fingerprints existed). Torn last lines of killed writers are skipped, as in `RunStore.records`."""
    by_key: dict[str, dict[str, Any]] = {}
    for rec in store.iter_records(score_stream(scorer)):
        if isinstance(rec, dict) and "key" in rec and rec.get("fingerprint_id") == fingerprint_id:
            by_key[rec["key"]] = rec
    return list(by_key.values())
