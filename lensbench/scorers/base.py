"""Scorer interface. The score runner (lensbench.runners.score) owns resume, batching, sharding and
record writing; a scorer only says what its units are, scores a batch of them, and aggregates.

Official scoring *logic* lives in pure functions next to each scorer (no model inside); model backends
(detectors, CLIP, VQA, OCR) plug in behind small interfaces and are passed to the scorer.

A scorer class also carries everything the layers above need to know about it, so adding a scorer is one
package plus one registry line:

- ``Options``       its frozen options dataclass (parsed from ``-O key=value`` by `lensbench.options`);
- ``metrics_meta``  ``{metric name: MetricMeta}`` for the metrics `summarize` emits (read by reports/metrics.py);
- ``paired_rule``   how ablation/paired.py turns per-unit records into paired deltas (`PairedRule`);
- ``fingerprint()`` what decided its records (backend, model ids + resolved revisions, decision-changing
                    options, logic ``version``); records are reused only under the same fingerprint;
- ``protocol()``    how it deviates from the official benchmark protocol (the results' coverage block);
- optional hooks ``finalize``, ``discover``, ``downloads``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lensbench.errors import UserError
from lensbench.options import option_names, split_options, unknown_keys_error
from lensbench.store.results import MetricValue
from lensbench.suites.base import PromptItem, Suite


@dataclass(frozen=True)
class ScoreUnit:
    """One thing a scorer judges: usually one image; for DPG-Bench one grid.

    key:     unique per run and scorer (the generation record's key, or e.g. ``"dpg/<item_id>"``).
    item:    the suite item (scoring always judges against its original metadata).
    images:  image paths relative to the run directory (or absolute, for external folders).
    info:    anything else the scorer wants in its record (index, seed, sha256 of the image, ...).
    """

    key: str
    item: PromptItem
    images: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricMeta:
    """How reports show one metric a scorer emits.

    canonical: the published-metric name in lensbench.reports.metrics.METRICS this metric is compared with
               (None: no published counterpart); `categories`/`category_display` list its breakdown rows.
    """

    display: str
    higher_is_better: bool = True
    unit: str = "fraction"  # "fraction" (0-1), "percent" (0-100), "s", ...
    decimals: int = 3
    canonical: str | None = None
    categories: tuple[str, ...] = ()
    category_display: Mapping[str, str] = field(default_factory=dict)
    kind: str = "quality"


@dataclass(frozen=True)
class PairedRule:
    """How a scorer's headline metric is built from per-unit records (see lensbench.ablation.paired).

    aggregate: ``mean`` (mean over prompts of `field`), ``category_mean`` (unweighted mean over categories of
    the per-category means of `field`, GenEval) or ``ratio`` (sum(num) / sum(den) pooled over prompts).
    """

    metric: str  # the headline metric (results/<scorer>.json) that the delta reproduces
    aggregate: str  # mean | category_mean | ratio
    field: str | None = None  # per-unit value (bool or number) for mean / category_mean
    num: str | None = None  # ratio numerator / denominator fields
    den: str | None = None
    scale: float = 1.0  # e.g. 100 for DPG-Bench percent

    def __post_init__(self) -> None:
        if self.aggregate not in ("mean", "category_mean", "ratio"):
            raise ValueError(f"unknown paired aggregate {self.aggregate!r}")
        if (self.aggregate == "ratio") != (self.num is not None and self.den is not None) or (
                self.aggregate != "ratio" and not self.field):
            raise ValueError(f"paired rule {self} needs field (mean/category_mean) or num+den (ratio)")


@dataclass(frozen=True)
class ProtocolInfo:
    """What the results' coverage block says about the scorer: backend, judge and every official deviation."""

    backend: str
    judge: str | None = None
    deviations: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoOptions:
    """A scorer without options."""


def parse_parts(raw: Mapping[str, Any] | None, parts: Mapping[str, type], *, what: str) -> dict[str, Any]:
    """`lensbench.options.split_options` for one ``-O`` namespace shared by a scorer and its parts (decision
    constants, backends), with the scorers' wording for unknown keys: "unknown <what> option 'x' (no option of
    that name); did you mean ...; valid options: ...". Wrong types: "option k=v of <what>: expected <type>"."""
    raw = dict(raw or {})
    valid = set().union(*(option_names(cls) for cls in parts.values())) if parts else set()
    unknown = set(raw) - valid
    if unknown:
        msg = str(unknown_keys_error(unknown, valid, owner=what))
        head, _, tail = msg.partition(f" for {what}")
        raise UserError(head.replace("unknown option", f"unknown {what} option", 1) + " (no option of that name)" + tail)
    return split_options(raw, parts, owner=what)


def parse_one(cls: type, raw: Mapping[str, Any] | None, *, what: str) -> Any:
    """`parse_parts` for a single options dataclass."""
    return parse_parts(raw, {"options": cls}, what=what)["options"]


class Scorer(ABC):
    name: str = "scorer"
    #: scorer logic version: bump when a change of code changes records (part of the fingerprint)
    version: str = "1"
    #: default batch size (units per `score_batch` call)
    batch_size: int = 8
    #: the options dataclass (`lensbench.options`); `parse(raw)` builds it
    Options: ClassVar[type] = NoOptions
    #: metric name -> display metadata, for every metric `summarize` emits
    metrics_meta: ClassVar[Mapping[str, MetricMeta]] = {}
    #: how ablation paired deltas are computed from per-unit records (None: no paired deltas)
    paired_rule: ClassVar[PairedRule | None] = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> Any:
        """``-O key=value`` pairs -> `Options` (unknown key / wrong type: a one-line UserError)."""
        return parse_one(cls.Options, raw, what=f"{cls.name} scorer")

    def settings(self) -> dict[str, Any]:
        """Every constant and backend that affects the scores; recorded with the results."""
        return {}

    def fingerprint(self) -> dict[str, Any]:
        """What decides a unit's record: backend, model ids and resolved revisions, every decision-changing
        option, and the scorer logic version. Records are reused (and aggregated together) only under an equal
        fingerprint. Default: name, version and `settings()`; override to leave out what does not change a
        record (batch sizes, bootstrap settings)."""
        return {"scorer": self.name, "version": self.version, "settings": self.settings()}

    def protocol(self) -> ProtocolInfo:
        """Backend, judge and every way this setup deviates from the official protocol. Default: a scorer that
        declares no official protocol is off-protocol."""
        return ProtocolInfo(backend=self.name, deviations=(f"scorer {self.name!r} declares no official protocol",))

    def load(self) -> None:
        """Load models (called once before the first batch)."""

    def units(self, suite: Suite, generation_records: Sequence[dict[str, Any]]) -> list[ScoreUnit]:
        """Default: one unit per successful generation record, in record order sorted by key."""
        items = {it.id: it for it in suite.items()}
        units = []
        for rec in sorted(generation_records, key=lambda r: (r.get("item_id", ""), r.get("index", 0))):
            if rec.get("status") != "ok" or rec.get("item_id") not in items:
                continue
            units.append(ScoreUnit(key=rec["key"], item=items[rec["item_id"]], images=(rec["image"],),
                                   info={"index": rec.get("index"), "sha256": rec.get("sha256")}))
        return units

    @abstractmethod
    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        """Score `units`; return one JSON-serialisable record per unit (same order)."""

    @abstractmethod
    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        """Aggregate per-unit records into headline and per-category metrics (official formulas). Pure: it
        writes nothing (files beside the results belong in `finalize`)."""

    # -- optional hooks ----------------------------------------------------------------------------
    def finalize(self, run_dir, records: Sequence[dict[str, Any]], suite: Suite) -> None:
        """Write scorer-specific files after results/<scorer>.json (e.g. GenEval's official results.jsonl)."""

    def discover(self, run_dir) -> tuple[Suite, list[dict[str, Any]]]:
        """(suite, pseudo generation records) for a folder made by another tool (no lensbench manifest)."""
        raise UserError(f"{run_dir} has no manifest.json and scorer {self.name!r} cannot read foreign folders; "
                        "pass a run directory made by `lensbench generate`")

    def downloads(self) -> list[dict[str, Any]]:
        """Hub snapshots `lensbench fetch` should cache for this scorer: ``{"repo_id", "revision"}`` dicts."""
        return []

    @classmethod
    def can_discover(cls) -> bool:
        return cls.discover is not Scorer.discover


__all__ = ["ScoreUnit", "MetricMeta", "parse_parts", "parse_one", "PairedRule", "ProtocolInfo", "NoOptions", "Scorer"]
