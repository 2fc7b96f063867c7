"""The metric vocabulary shared by published baselines, run results, tables, charts and the gate.

Every published value in ``baselines/*.toml`` names a metric from `METRICS`; run results
(``results/<scorer>.json``) are mapped onto the same names through `canonical_metric`: a scorer declares, per
metric it emits, a `MetricMeta` (``Scorer.metrics_meta``) whose ``canonical`` names the published metric, so a
published and a reproduced number can be set side by side. A run metric without a published counterpart is
called ``"<scorer>:<metric>"`` and ``METRICS.get("<scorer>:<metric>")`` describes it from the scorer's
`MetricMeta` (display name, unit, decimals, direction): adding a scorer needs no edit here. Units are the ones
the benchmarks print (GenEval, OneIG, LongText, CVTG-2K: fraction in [0, 1]; DPG-Bench, TIIF: percent 0-100).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lensbench.scorers.dpg.scorer import DPG_CATEGORIES
from lensbench.scorers.geneval.scorer import GENEVAL_TAG_DISPLAY, GENEVAL_TAGS


@dataclass(frozen=True)
class MetricInfo:
    name: str
    display: str  # column header
    unit: str  # "fraction", "percent", "s", "GB", "B", ...
    kind: str  # "quality" | "speed" | "memory" | "size" | "compute" | "preference"
    higher_is_better: bool = True
    decimals: int = 3  # for values we compute (published values keep their printed precision)
    categories: tuple[str, ...] = ()  # allowed breakdown names ("overall" = the headline, always allowed)
    category_display: dict[str, str] = field(default_factory=dict)
    needs_device: bool = False  # speed/memory values are meaningless without the device

    def category_label(self, category: str | None) -> str:
        if category is None:
            return "Overall"
        return self.category_display.get(category, category.replace("_", " ").capitalize())


_GENEVAL_TAGS, _GENEVAL_DISPLAY, _DPG_CATS = GENEVAL_TAGS, GENEVAL_TAG_DISPLAY, DPG_CATEGORIES  # the scorers' own
_ONEIG_DIMS = ("alignment", "text", "reasoning", "style", "diversity")
_CVTG_REGIONS = ("regions_2", "regions_3", "regions_4", "regions_5")
_CVTG_DISPLAY = {f"regions_{n}": f"{n} regions" for n in range(2, 6)}


def _m(*args, **kw) -> MetricInfo:
    return MetricInfo(*args, **kw)


class _Vocabulary(dict):
    """The published metrics (iteration, ``in``) plus, for `get`/`[]`, ``"<scorer>:<metric>"`` names described by
    the scorer's `MetricMeta`."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        info = dict.get(self, key)
        return info if info is not None else (_scorer_metric_info(key) or default)

    def __getitem__(self, key: str) -> MetricInfo:
        info = self.get(key)
        if info is None:
            raise KeyError(key)
        return info


METRICS: dict[str, MetricInfo] = _Vocabulary({m.name: m for m in (
    # --- quality benchmarks (protocols in shared/reference/benchmarks.md) ---
    _m("geneval", "GenEval", "fraction", "quality", categories=_GENEVAL_TAGS, category_display=_GENEVAL_DISPLAY),
    _m("dpg", "DPG", "percent", "quality", decimals=2, categories=_DPG_CATS),
    _m("oneig_en", "OneIG-EN", "fraction", "quality", categories=_ONEIG_DIMS),
    _m("oneig_zh", "OneIG-ZH", "fraction", "quality", categories=_ONEIG_DIMS),
    _m("longtext_en", "LongText-EN", "fraction", "quality"),
    _m("longtext_zh", "LongText-ZH", "fraction", "quality"),
    _m("cvtg_word_acc", "CVTG-2K", "fraction", "quality", decimals=4, categories=_CVTG_REGIONS,
       category_display=_CVTG_DISPLAY),
    _m("cvtg_ned", "CVTG NED", "fraction", "quality", decimals=4),
    _m("cvtg_clipscore", "CVTG CLIPScore", "fraction", "quality", decimals=4),
    _m("tiif_short", "TIIF-S", "percent", "quality", decimals=2),
    _m("tiif_long", "TIIF-L", "percent", "quality", decimals=2),
    _m("prism_en", "PRISM-EN", "percent", "quality", decimals=1),
    _m("prism_zh", "PRISM-ZH", "percent", "quality", decimals=1),
    _m("chineseword", "ChineseWord", "percent", "quality", decimals=2, categories=("level_1", "level_2", "level_3"),
       category_display={"level_1": "Level-1", "level_2": "Level-2", "level_3": "Level-3"}),
    _m("wise", "WISE", "fraction", "quality", decimals=2),
    # --- human preference ---
    _m("arena_elo", "Arena Elo", "Elo", "preference", decimals=0),
    _m("arena_win_rate", "Arena win rate", "percent", "preference", decimals=1),
    _m("human_gsb", "GSB", "percent", "preference", decimals=1, categories=("good", "same", "bad")),
    _m("gsb_win_rate", "GSB win rate", "percent", "preference", decimals=2),
    # --- speed and memory (device is part of the value) ---
    _m("latency_s", "Latency (s)", "s", "speed", higher_is_better=False, decimals=3, needs_device=True),
    _m("cold_start_s", "Cold start (s)", "s", "speed", higher_is_better=False, decimals=1, needs_device=True),
    _m("speedup_x", "Speed-up (×)", "×", "speed", decimals=2, categories=("torch_compile", "flashinfer"),
       category_display={"torch_compile": "torch.compile", "flashinfer": "FlashInfer"}),
    _m("peak_memory_gb", "Peak memory (GB)", "GB", "memory", higher_is_better=False, decimals=2, needs_device=True),
    _m("gpus_required", "GPUs required", "GPUs", "memory", higher_is_better=False, decimals=0,
       categories=("minimum", "recommended"), needs_device=True),
    # --- size and training compute ---
    _m("params_b", "Params (B)", "B", "size", higher_is_better=False, decimals=2, categories=("active",)),
    _m("weights_gb", "Weights (GB)", "GB", "size", higher_is_better=False, decimals=2,
       categories=("transformer", "text_encoder", "vae"),
       category_display={"transformer": "Transformer", "text_encoder": "Text encoder", "vae": "VAE"}),
    _m("train_gpu_hours", "Training GPU-hours", "GPU-h", "compute", higher_is_better=False, decimals=0,
       needs_device=True),
    _m("train_cost_usd", "Training cost (USD)", "USD", "compute", higher_is_better=False, decimals=0),
    _m("train_compute_pct_of_z_image", "Training compute (% of Z-Image)", "percent", "compute",
       higher_is_better=False, decimals=1),
    _m("train_gpus", "Training GPUs", "GPUs", "compute", decimals=0, needs_device=True),
    _m("pretrain_iters", "Pre-training iterations", "iters", "compute", decimals=0,
       categories=("stage_1", "stage_2"), category_display={"stage_1": "Stage 1", "stage_2": "Stage 2"}),
)})

#: legacy run-result metric names (older results files) -> canonical metric name above; current scorers declare
#: theirs in ``metrics_meta`` (see `scorer_aliases`)
RUN_METRIC_ALIASES: dict[str, str] = {
    "geneval": "geneval", "geneval_overall": "geneval", "geneval_score": "geneval",
    "dpg": "dpg", "dpg_bench": "dpg", "dpg-bench": "dpg", "dpg_score": "dpg",
    "oneig_en": "oneig_en", "oneig_zh": "oneig_zh",
    "longtext_en": "longtext_en", "longtext_zh": "longtext_zh",
    "cvtg_word_acc": "cvtg_word_acc", "cvtg_ned": "cvtg_ned", "cvtg_clipscore": "cvtg_clipscore",
    "tiif_short": "tiif_short", "tiif_long": "tiif_long", "wise": "wise",
}

#: per canonical metric: category names scorers may use -> canonical category (None = headline)
CATEGORY_ALIASES: dict[str, dict[str, str | None]] = {
    "geneval": {"attribute_binding": "color_attr", "attr_binding": "color_attr", "color": "colors",
                "single": "single_object", "two": "two_object"},
}
_HEADLINE_NAMES = {"overall", "all", "total", ""}

UNIT_FACTORS = {("fraction", "percent"): 100.0, ("percent", "fraction"): 0.01}


def _scorer_meta(scorer: str, metric: str) -> Any:
    from lensbench.scorers import SCORERS, scorer_class

    if scorer not in SCORERS:
        return None
    try:
        cls = scorer_class(scorer)
    except ImportError:  # a registered scorer whose optional dependencies are missing
        return None
    return (getattr(cls, "metrics_meta", None) or {}).get(metric) if cls is not None else None


@lru_cache(maxsize=None)
def _scorer_metric_info(name: str) -> MetricInfo | None:
    scorer, sep, metric = name.partition(":")
    meta = _scorer_meta(scorer, metric) if sep else None
    if meta is None:
        return None
    return MetricInfo(name, meta.display, meta.unit, meta.kind, higher_is_better=meta.higher_is_better,
                      decimals=meta.decimals, categories=tuple(meta.categories),
                      category_display=dict(meta.category_display))


@lru_cache(maxsize=1)
def scorer_aliases() -> dict[str, str]:
    """Run metric name -> canonical metric, from every registered scorer's ``metrics_meta`` (``canonical``)."""
    from lensbench.scorers import SCORERS, scorer_class

    out: dict[str, str] = {}
    for name in SCORERS.names():
        try:
            cls = scorer_class(name)
        except ImportError:
            continue
        for metric, meta in (getattr(cls, "metrics_meta", None) or {}).items():
            if meta.canonical:
                out[metric.lower()] = meta.canonical
    return out


def metric_info(name: str) -> MetricInfo | None:
    return METRICS.get(name)


def canonical_metric(name: str) -> str | None:
    """Canonical metric for a run-result metric name, or None when it has no published counterpart."""
    key = name.strip().lower()
    return scorer_aliases().get(key) or RUN_METRIC_ALIASES.get(key) or (key if dict.__contains__(METRICS, key) else None)


def canonical_category(metric: str, category: str | None) -> str | None:
    if category is None or category.strip().lower() in _HEADLINE_NAMES:
        return None
    key = category.strip().lower().replace(" ", "_").replace("-", "_")
    return CATEGORY_ALIASES.get(metric, {}).get(key, key)


def convert_unit(value: float | None, from_unit: str, to_unit: str) -> float | None:
    """Convert between fraction and percent; other units pass through unchanged."""
    if value is None or not from_unit or from_unit == to_unit:
        return value
    return value * UNIT_FACTORS.get((from_unit, to_unit), 1.0)


def display_name(metric: str) -> str:
    info = METRICS.get(metric)
    return info.display if info else metric


__all__ = ["MetricInfo", "METRICS", "RUN_METRIC_ALIASES", "CATEGORY_ALIASES", "metric_info", "canonical_metric",
           "canonical_category", "convert_unit", "display_name", "scorer_aliases"]
