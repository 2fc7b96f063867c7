"""Pooling per-image text scores into headline and breakdown metrics with 95% bootstrap CIs (pure).

Every metric is a ratio of pooled counts, exactly as the official scripts pool them:

    word_accuracy   = Σ correct words / Σ target words          (CVTG-2K)
    ned             = Σ per-word NED / Σ target words           (CVTG-2K: mean over all target words)
    text_score      = Σ matched GT tokens / Σ GT tokens          (LongText-Bench)
    text_precision  = Σ matched OCR tokens / Σ OCR tokens        (lensbench)
    region_accuracy = Σ fully read regions / Σ regions           (lensbench)

The bootstrap resamples *prompts* (all images of a prompt move together, so several images per prompt do not
narrow the interval artificially) and recomputes the pooled ratio; it goes through `lensbench.stats`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lensbench.stats import DEFAULT_N_BOOT, DEFAULT_SEED, bootstrap_ci
from lensbench.store.results import MetricValue

#: metric name -> (numerator field, denominator field) in a per-image record
RATIOS: dict[str, tuple[str, str]] = {
    "word_accuracy": ("word_correct", "word_total"),
    "ned": ("ned_sum", "word_total"),
    "text_score": ("text_matched", "text_total"),
    "text_precision": ("ocr_matched", "ocr_total"),
    "region_accuracy": ("region_hits", "region_total"),
}
#: record field -> category prefix used for breakdown rows ("category:sign", "language:zh", ...)
BREAKDOWNS: tuple[tuple[str, str], ...] = (
    ("language", "language"),
    ("category", "category"),
    ("length_bucket", "length"),
    ("n_regions", "regions"),
)


def per_prompt(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Sum the count fields of all images of each prompt (key: item_id); keep its grouping fields."""
    out: dict[str, dict[str, Any]] = {}
    fields = {f for pair in RATIOS.values() for f in pair}
    for rec in records:
        row = out.setdefault(
            rec["item_id"],
            {"item_id": rec["item_id"], "n_images": 0, **{f: 0 for f in fields},
             **{k: rec.get(k) for k, _ in BREAKDOWNS}},
        )
        row["n_images"] += 1
        for f in fields:
            row[f] += rec.get(f) or 0
    return out


def pooled_ratio(num: Sequence[float], den: Sequence[float]) -> float:
    d = float(np.sum(den))
    return float(np.sum(num)) / d if d > 0 else float("nan")


def ratio_ci(num: Sequence[float], den: Sequence[float], *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED,
             alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap CI of Σnum/Σden, resampling the (num, den) pairs (one pair per prompt)."""
    n = np.asarray(num, dtype=float)
    d = np.asarray(den, dtype=float)
    keep = d > 0
    n, d = n[keep], d[keep]
    if n.size == 0:
        return (float("nan"), float("nan"))

    def stat(idx: np.ndarray) -> float:
        i = idx.astype(int)
        return float(n[i].sum() / d[i].sum())

    return bootstrap_ci(np.arange(n.size, dtype=float), stat, n_boot=n_boot, alpha=alpha, seed=seed)


def _metric_rows(prompts: list[dict[str, Any]], category: str | None, *, n_boot: int, seed: int,
                 metrics: Sequence[str]) -> list[MetricValue]:
    rows = []
    for metric in metrics:
        nf, df = RATIOS[metric]
        num = [p[nf] for p in prompts]
        den = [p[df] for p in prompts]
        n_units = sum(1 for x in den if x > 0)
        if n_units == 0:
            continue
        lo, hi = ratio_ci(num, den, n_boot=n_boot, seed=seed)
        rows.append(MetricValue(metric=metric, value=pooled_ratio(num, den), n=n_units, ci_low=lo, ci_high=hi,
                                category=category, higher_is_better=True, unit="fraction"))
    return rows


def summarize_records(
    records: Sequence[dict[str, Any]],
    *,
    metrics: Sequence[str] = tuple(RATIOS),
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = DEFAULT_SEED,
    include_prompts: bool = False,
    breakdowns: Sequence[tuple[str, str]] = BREAKDOWNS,
) -> list[MetricValue]:
    """Headline rows (category None), breakdown rows ("language:en", "category:sign", "length:long",
    "regions:3") and, if asked, one row per prompt ("prompt:<item_id>", no CI)."""
    prompts = list(per_prompt(records).values())
    if not prompts:
        return []
    out = _metric_rows(prompts, None, n_boot=n_boot, seed=seed, metrics=metrics)
    for field, prefix in breakdowns:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in prompts:
            if p.get(field) is not None:
                groups[str(p[field])].append(p)
        for key in sorted(groups, key=_natural):
            out += _metric_rows(groups[key], f"{prefix}:{key}", n_boot=n_boot, seed=seed, metrics=metrics)
    if include_prompts:
        for p in sorted(prompts, key=lambda r: r["item_id"]):
            for metric in metrics:
                nf, df = RATIOS[metric]
                if p[df] > 0:
                    out.append(MetricValue(metric=metric, value=p[nf] / p[df], n=p["n_images"],
                                           category=f"prompt:{p['item_id']}", unit="fraction"))
    return out


def _natural(key: str) -> tuple:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def find(metrics: Sequence[MetricValue], metric: str, category: str | None = None) -> MetricValue:
    """The row for (metric, category); KeyError if absent."""
    for m in metrics:
        if m.metric == metric and m.category == category:
            return m
    raise KeyError((metric, category))

