"""Tables built from published baselines alone (the `lensbench report --published` report).

A row is one (model, reporting document, measurer, variant) group, so two published numbers for the same
model and metric (Lens-Turbo GenEval 0.914 from the Lens paper, 0.83 from Mage-Flow) sit in separate
rows and are never merged. Values keep their published precision; uncertain ones carry a dagger.
"""

from __future__ import annotations

import re
from collections import defaultdict

from lensbench.reports.baselines import Baselines, PublishedValue
from lensbench.reports.metrics import METRICS
from lensbench.reports.tables import UNCERTAIN_MARK, UNCERTAIN_NOTE, Table
from lensbench.util.sizes import format_size

HEADLINE = ("geneval", "dpg", "oneig_en", "oneig_zh", "longtext_en", "longtext_zh", "cvtg_word_acc", "tiif_short",
            "tiif_long")
COMPARISON = ("geneval", "dpg", "oneig_en", "oneig_zh", "longtext_en", "cvtg_word_acc", "tiif_short", "tiif_long")
SPEED_METRICS = ("latency_s", "cold_start_s", "speedup_x", "peak_memory_gb", "gpus_required")
SIZE_METRICS = ("params_b", "weights_gb", "train_gpu_hours", "train_cost_usd", "train_compute_pct_of_z_image",
                "train_gpus", "pretrain_iters")
MEASURED_BY_NOTE = "Measured by: \"authors\" = the model's own authors; any other name is an independent group."
_METRIC_ORDER = {m: i for i, m in enumerate(METRICS)}

Column = tuple[str, str | None]  # (metric, category)


def cell(v: PublishedValue) -> str:
    return v.text + (UNCERTAIN_MARK if v.uncertain else "")


def group_key(v: PublishedValue) -> tuple[str, str, str, str]:
    return (v.model, v.ref, v.measured_by, v.variant)


def group_sort(b: Baselines, key: tuple[str, str, str, str]) -> tuple:
    model, ref, measured_by, variant = key
    return (b.order(model), measured_by != "authors", ref, measured_by, variant)


def value_sort(b: Baselines, v: PublishedValue) -> tuple:
    info = METRICS[v.metric]
    cat = -1 if v.category is None else (info.categories.index(v.category) if v.category in info.categories else 99)
    return (b.order(v.model), _METRIC_ORDER[v.metric], cat, v.measured_by != "authors", v.ref, v.variant, v.device,
            v.height or 0, v.width or 0, v.steps or 0, str(v.compile), v.protocol_text())


def column_label(col: Column) -> str:
    metric, category = col
    info = METRICS[metric]
    return info.display if category is None else info.category_label(category)


def source_notes(b: Baselines, values: list[PublishedValue]) -> list[str]:
    """One 'Sources' note per reporting document used in a table (deterministic order)."""
    by_ref: dict[str, set[str]] = defaultdict(set)
    for v in values:
        by_ref[v.ref].add(v.source)
    def natural(text: str) -> list:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]

    return [f"{ref}: {'; '.join(sorted(srcs, key=natural))}" for ref, srcs in sorted(by_ref.items())]


def grid_table(b: Baselines, name: str, title: str, columns: list[Column], *, models: set[str] | None = None,
               require: list[Column] | None = None, labels: list[str] | None = None, short: bool = False) -> Table:
    """Rows = (model, ref, measured_by, variant) groups with a value in `require` (default: any column)."""
    colset = set(columns)
    cells: dict[tuple, dict[Column, list[PublishedValue]]] = defaultdict(lambda: defaultdict(list))
    for v in b.values:
        if (v.metric, v.category) in colset and (models is None or v.model in models) and (v.comparison or not short):
            cells[group_key(v)][(v.metric, v.category)].append(v)
    need = set(require or columns)
    keys = sorted((k for k, c in cells.items() if need & set(c)), key=lambda k: group_sort(b, k))
    t = Table(name, title, ["Model", "Reported in", "Measured by"] + (labels or [column_label(c) for c in columns]),
              numeric=set(range(3, 3 + len(columns))))
    used: list[PublishedValue] = []
    for k in keys:
        model, ref, measured_by, variant = k
        row = [b.display(model) + (f" ({variant})" if variant else ""), ref, measured_by]
        for c in columns:
            vs = sorted(cells[k].get(c, []), key=lambda v: value_sort(b, v))
            used += vs
            row.append(" / ".join(cell(v) for v in vs))
        t.add(row)
    if any(v.uncertain for v in used):
        t.notes.append(UNCERTAIN_NOTE)
    t.notes.append(MEASURED_BY_NOTE)
    t.notes += [f"Source — {n}" for n in source_notes(b, used)]
    return t


def _cats(metric: str) -> list[Column]:
    return [(metric, c) for c in METRICS[metric].categories] + [(metric, None)]


def _settings(v: PublishedValue) -> str:
    parts = [v.variant] if v.variant else []
    if v.compile is not None and not v.variant:
        parts.append("torch.compile" if v.compile else "no compile")
    if v.dtype:
        parts.append(v.dtype)
    if v.batch_size:
        parts.append(f"batch {v.batch_size}")
    if v.protocol:
        parts.append(v.protocol_text())
    return "; ".join(parts)


def long_table(b: Baselines, name: str, title: str, metrics: tuple[str, ...] | None, *, full: bool = False) -> Table:
    """One row per published value (speed, memory, size, compute; or everything with `full`)."""
    vals = sorted((v for v in b.values if metrics is None or v.metric in metrics), key=lambda v: value_sort(b, v))
    cols = ["Model", "Metric", "Value", "Unit", "Device", "Resolution", "Steps", "Settings", "Measured by", "Reported in"]
    cols += ["Source", "Uncertain", "Note"] if full else ["Note"]
    t = Table(name, title, cols, numeric={2, 6})
    for v in vals:
        info = METRICS[v.metric]
        metric = info.display if v.category is None else f"{info.display}: {info.category_label(v.category)}"
        res = format_size(v.height, v.width) if v.width and v.height else ""
        row = [b.display(v.model), metric, v.text if full else cell(v), info.unit, v.device, res,
               str(v.steps or ""), _settings(v), v.measured_by, v.ref]
        row += [v.source, "yes" if v.uncertain else "no", v.note] if full else [v.note]
        t.add(row)
    if not full:
        if any(v.uncertain for v in vals):
            t.notes.append(UNCERTAIN_NOTE)
        t.notes.append("Devices, resolutions and steps differ between rows: compare only rows measured alike.")
        t.notes += [f"Source — {n}" for n in source_notes(b, vals)]
    return t


def published_tables(b: Baselines) -> list[Table]:
    focus = {m.name for m in b.models.values() if m.focus}
    text_cols = _cats("cvtg_word_acc") + [("cvtg_ned", None), ("cvtg_clipscore", None), ("longtext_en", None),
                                          ("longtext_zh", None), ("chineseword", None)]
    other_cols = [("tiif_short", None), ("tiif_long", None), ("prism_en", None), ("prism_zh", None), ("wise", None),
                  ("arena_elo", None), ("arena_win_rate", None), ("gsb_win_rate", None), ("human_gsb", "good"),
                  ("human_gsb", "same"), ("human_gsb", "bad")]
    other_labels = ["TIIF-S", "TIIF-L", "PRISM-EN", "PRISM-ZH", "WISE", "Arena Elo", "Arena win %", "GSB win %",
                    "GSB good %", "GSB same %", "GSB bad %"]
    tables = [
        grid_table(b, "comparison", "Published comparison (main models)", [(m, None) for m in COMPARISON],
                   models=focus, short=True).drop_empty_columns(3),
        grid_table(b, "headline", "Published headline scores (all models)", [(m, None) for m in HEADLINE]),
        grid_table(b, "geneval", "GenEval per tag (published)", _cats("geneval"), require=_cats("geneval")[:-1]),
        grid_table(b, "dpg", "DPG-Bench per category (published)", _cats("dpg"), require=_cats("dpg")[:-1]),
        grid_table(b, "oneig_en", "OneIG-EN per dimension (published)", _cats("oneig_en"),
                   require=_cats("oneig_en")[:-1]),
        grid_table(b, "oneig_zh", "OneIG-ZH per dimension (published)", _cats("oneig_zh"),
                   require=_cats("oneig_zh")[:-1]),
        grid_table(b, "text_rendering", "Text rendering: CVTG-2K word accuracy by region count, NED, CLIPScore; "
                   "LongText; ChineseWord (published)", text_cols,
                   labels=["CVTG 2 reg", "CVTG 3 reg", "CVTG 4 reg", "CVTG 5 reg", "CVTG avg", "CVTG NED",
                           "CVTG CLIP", "LongText-EN", "LongText-ZH", "ChineseWord"]),
        grid_table(b, "other_benchmarks", "TIIF, PRISM, WISE and human preference (published)", other_cols,
                   labels=other_labels),
        long_table(b, "speed_memory", "Published latency and memory (device, resolution and steps as stated)",
                   SPEED_METRICS),
        long_table(b, "size_compute", "Published size and training compute", SIZE_METRICS),
        long_table(b, "all_values", "Every published value with its source", None, full=True),
    ]
    return tables
