"""Aggregate DPG-Bench per-prompt records into metrics (official formulas) with 95% bootstrap CIs over prompts.

Metrics (all in percent, as the official script prints them):

* ``dpg``                      headline: mean prompt score x 100 over scored prompts (category=None), and the
                               OFFICIAL L1 category scores (category=L1 name: last tile, raw, question-weighted)
* ``dpg_l2``                   OFFICIAL L2 category scores
* ``dpg_corrected``            CORRECTED (not official) L1 scores: all tiles, after dependencies
* ``dpg_corrected_l2``         CORRECTED L2 scores
* ``dpg_excluded_prompts``     count of prompts the official script would drop ("Failed filename")

CIs resample prompts (lensbench.stats.bootstrap_ci); a category CI resamples the prompts that have questions
in that category and recomputes the question-weighted mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lensbench.scorers.dpg.official import dpg_score
from lensbench.scorers.dpg.questions import category_l1
from lensbench.stats import DEFAULT_N_BOOT, DEFAULT_SEED, bootstrap_ci
from lensbench.store.results import MetricValue

VARIANTS = {"dpg": "official", "dpg_corrected": "corrected"}


def question_value(q: dict[str, Any], variant: str) -> float:
    """Per-question category value from a record: official = raw score of the last tile; corrected = mean
    over tiles of the score after dependencies."""
    if variant == "official":
        return float(q["raw"][-1])
    if variant == "corrected":
        return float(sum(q["final"]) / len(q["final"]))
    raise ValueError(f"unknown category variant {variant!r}")


def scored(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records that count (status ok, not excluded), sorted by item id."""
    ok = [r for r in records if r.get("status", "ok") == "ok" and not r.get("excluded")]
    return sorted(ok, key=lambda r: str(r.get("item_id")))


def _category_table(records, variant: str, level: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """category -> (per-prompt sum of values, per-prompt count), over prompts having that category."""
    table: dict[str, tuple[list[float], list[int]]] = {}
    for rec in records:
        per: dict[str, list[float]] = {}
        for q in rec["questions"]:
            l2 = q["category_l2"]
            key = category_l1(l2) if level == "l1" else l2
            per.setdefault(key, []).append(question_value(q, variant))
        for key, vals in per.items():
            sums, counts = table.setdefault(key, ([], []))
            sums.append(float(sum(vals)))
            counts.append(len(vals))
    return {k: (np.asarray(s, dtype=float), np.asarray(c, dtype=float)) for k, (s, c) in sorted(table.items())}


def _ratio_ci(sums: np.ndarray, counts: np.ndarray, **kw) -> tuple[float, float]:
    def stat(idx: np.ndarray) -> float:
        i = idx.astype(int)
        return float(sums[i].sum() / counts[i].sum() * 100)

    return bootstrap_ci(np.arange(sums.size, dtype=float), stat, **kw)


def summarize_records(
    records: Sequence[dict[str, Any]], *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED, alpha: float = 0.05
) -> list[MetricValue]:
    kw = {"n_boot": n_boot, "seed": seed, "alpha": alpha}
    good = scored(records)
    all_ok = [r for r in records if r.get("status", "ok") == "ok"]
    out: list[MetricValue] = []
    scores = np.asarray([r["prompt_score"] for r in good], dtype=float)
    if scores.size:
        lo, hi = bootstrap_ci(scores * 100, **kw)
        out.append(MetricValue("dpg", dpg_score(scores), int(scores.size), lo, hi, unit="percent"))
    else:
        out.append(MetricValue("dpg", float("nan"), 0, unit="percent"))
    for metric, variant in VARIANTS.items():
        for level, suffix in (("l1", ""), ("l2", "_l2")):
            for cat, (sums, counts) in _category_table(good, variant, level).items():
                lo, hi = _ratio_ci(sums, counts, **kw)
                value = float(sums.sum() / counts.sum() * 100)
                out.append(MetricValue(metric + suffix, value, int(sums.size), lo, hi, category=cat, unit="percent"))
    n_excl = len(all_ok) - len(good)
    out.append(MetricValue("dpg_excluded_prompts", float(n_excl), len(all_ok), higher_is_better=False, unit="count"))
    return out
