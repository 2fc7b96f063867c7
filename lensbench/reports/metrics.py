"""The metric vocabulary shared by published baselines, run results, tables, charts and the gate.

Every published value in ``baselines/*.toml`` names a metric from `METRICS`; run results
(``results/<scorer>.json``) are mapped onto the same names through `RUN_METRIC_ALIASES` so a published and
a reproduced number can be set side by side. Units are the ones the benchmarks print (GenEval, OneIG,
LongText, CVTG-2K: fraction in [0, 1]; DPG-Bench, TIIF: percent 0-100).
"""

from __future__ import annotations

from dataclasses import dataclass, field


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


_GENEVAL_TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")
_GENEVAL_DISPLAY = {"single_object": "Single", "two_object": "Two", "counting": "Counting", "colors": "Colors",
                    "position": "Position", "color_attr": "Attr. binding"}
_DPG_CATS = ("global", "entity", "attribute", "relation", "other")
_ONEIG_DIMS = ("alignment", "text", "reasoning", "style", "diversity")
_CVTG_REGIONS = ("regions_2", "regions_3", "regions_4", "regions_5")
_CVTG_DISPLAY = {f"regions_{n}": f"{n} regions" for n in range(2, 6)}


def _m(*args, **kw) -> MetricInfo:
    return MetricInfo(*args, **kw)


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
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
)}

#: run-result metric names (as scorers write them) -> canonical metric name above
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


def metric_info(name: str) -> MetricInfo | None:
    return METRICS.get(name)


def canonical_metric(name: str) -> str | None:
    """Canonical metric for a run-result metric name, or None when it has no published counterpart."""
    key = name.strip().lower()
    return RUN_METRIC_ALIASES.get(key) or (key if key in METRICS else None)


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
