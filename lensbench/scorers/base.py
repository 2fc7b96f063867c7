"""Scorer interface. The score runner (lensbench.runners.score) owns resume, batching, sharding and
record writing; a scorer only says what its units are, scores a batch of them, and aggregates.

Official scoring *logic* lives in pure functions next to each scorer (no model inside); model backends
(detectors, CLIP, VQA, OCR) plug in behind small interfaces and are passed to the scorer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lensbench.store.results import MetricValue
from lensbench.suites.base import PromptItem, Suite


@dataclass(frozen=True)
class ScoreUnit:
    """One thing a scorer judges: usually one image; for DPG-Bench one grid.

    key:     unique per run and scorer (the generation record's key, or e.g. ``"dpg/<item_id>"``).
    item:    the suite item (scoring always judges against its original metadata).
    images:  image paths relative to the run directory (or absolute, for external folders).
    info:    anything else the scorer wants in its record (index, seed, ...).
    """

    key: str
    item: PromptItem
    images: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)


class Scorer(ABC):
    name: str = "scorer"
    version: str = "1"
    #: default batch size (units per `score_batch` call)
    batch_size: int = 8

    def settings(self) -> dict[str, Any]:
        """Every constant and backend that affects the scores; recorded with the results."""
        return {}

    def load(self) -> None:
        """Load models (called once before the first batch)."""

    def units(self, suite: Suite, generation_records: Sequence[dict[str, Any]]) -> list[ScoreUnit]:
        """Default: one unit per successful generation record, in record order sorted by key."""
        items = {it.id: it for it in suite.items()}
        units = []
        for rec in sorted(generation_records, key=lambda r: (r.get("item_id", ""), r.get("index", 0))):
            if rec.get("status") != "ok" or rec.get("item_id") not in items:
                continue
            units.append(
                ScoreUnit(key=rec["key"], item=items[rec["item_id"]], images=(rec["image"],), info={"index": rec.get("index")})
            )
        return units

    @abstractmethod
    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        """Score `units`; return one JSON-serialisable record per unit (same order)."""

    # Optional: ``finalize(run_dir, records, suite)`` writes scorer-specific files after the results (the score
    # runner calls it when present), and ``discover(run_dir) -> (suite, records)`` reads foreign folders.

    @abstractmethod
    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        """Aggregate per-unit records into headline and per-category metrics (official formulas)."""
