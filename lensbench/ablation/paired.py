"""Paired deltas of a cell against the control cell, over the prompts both scored (pure; numpy only).

Per scorer, its `paired_rule` class attribute (a `PairedRule`, alias `PairedSpec`) says which per-unit record
field the headline metric is built from and how:

- ``mean``: headline = mean over prompts of the per-prompt value (DPG-Bench: mean prompt_score x 100). Delta CI:
  `lensbench.stats.paired_bootstrap_ci` over the per-prompt differences.
- ``category_mean``: headline = unweighted mean over categories of the per-category means (GenEval's
  summary_scores.py: mean of the tag accuracies). Delta = the same mean of per-category mean differences; its CI
  resamples prompts within each category (`lensbench.stats.bootstrap_ci_grouped` over the differences).
- ``ratio``: headline = sum(num) / sum(den) pooled over prompts (OCR word accuracy). Delta CI: prompts resampled
  jointly for both cells (`lensbench.stats.bootstrap_ci` over prompt indices).

A prompt's value is the mean of its images' values (a ratio prompt sums its images' numerators and denominators),
so with equal images per prompt each delta equals the difference of the two official headline values when both
cells scored the same prompts. Prompts only one cell scored are left out (the row reports n_pairs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lensbench import stats
from lensbench.scorers.base import PairedRule


#: how a scorer's headline is built from its per-unit records: declared by each scorer as ``paired_rule``
PairedSpec = PairedRule


class _ScorerRules(Mapping[str, PairedRule]):
    """scorer name -> the scorer class's ``paired_rule`` (read from the SCORERS registry; nothing per scorer here)."""

    def _rule(self, name: str) -> PairedRule | None:
        from lensbench.scorers import SCORERS, scorer_class

        if name not in SCORERS:
            return None
        cls = scorer_class(name)
        return getattr(cls, "paired_rule", None) if cls is not None else None

    def __getitem__(self, name: str) -> PairedRule:
        rule = self._rule(name)
        if rule is None:
            raise KeyError(name)
        return rule

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        rule = self._rule(name)
        return default if rule is None else rule

    def __iter__(self) -> Iterator[str]:
        from lensbench.scorers import SCORERS

        return iter([n for n in SCORERS.names() if self._rule(n) is not None])

    def __len__(self) -> int:
        return len(list(iter(self)))


PAIRED_SPECS: Mapping[str, PairedRule] = _ScorerRules()


def rule_of(scorer: Any) -> PairedRule | None:
    """The paired rule of a scorer given by name, class or instance."""
    if isinstance(scorer, str):
        return PAIRED_SPECS.get(scorer)
    return getattr(scorer, "paired_rule", None)


def spec_for(scorer: Any, overrides: Mapping[str, Any] | None = None) -> PairedSpec | None:
    """The scorer's spec, changed by grid [score] keys paired_metric / paired_aggregate / paired_field (for ratio:
    "num/den") / paired_scale. None when the scorer has no spec and the grid gives none."""
    base = rule_of(scorer)
    o = {k: v for k, v in (overrides or {}).items() if k.startswith("paired_")}
    if not o:
        return base
    agg = str(o.get("paired_aggregate") or (base.aggregate if base else "mean"))
    field = o.get("paired_field")
    scale = float(o.get("paired_scale", base.scale if base else 1.0))
    if agg == "ratio":
        num, _, den = str(field).partition("/") if field else (base.num if base else None, "", base.den if base else None)
        metric = str(o.get("paired_metric") or (base.metric if base else num))
        return PairedSpec(metric, "ratio", num=num or None, den=den or None, scale=scale)
    field = str(field or (base.field if base else ""))
    metric = str(o.get("paired_metric") or (base.metric if base else field))
    return PairedSpec(metric, agg, field=field or None, scale=scale)


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, str):
        return None
    f = float(v)
    return None if np.isnan(f) else f


def per_prompt(records: Sequence[Mapping[str, Any]], spec: PairedSpec) -> dict[str, Any]:
    """item id -> prompt value (float), or (num, den) for ratio specs; ok records only."""
    acc: dict[str, list[float]] = {}
    for r in records:
        if r.get("status", "ok") != "ok" or "item_id" not in r:
            continue
        if spec.aggregate == "ratio":
            n, d = _num(r.get(spec.num)), _num(r.get(spec.den))
            if n is None or d is None:
                continue
            a = acc.setdefault(str(r["item_id"]), [0.0, 0.0])
            a[0] += n
            a[1] += d
        else:
            v = _num(r.get(spec.field))
            if v is not None:
                acc.setdefault(str(r["item_id"]), []).append(v)
    if spec.aggregate == "ratio":
        return {k: (v[0], v[1]) for k, v in acc.items() if v[1] > 0}
    return {k: float(np.mean(v)) for k, v in acc.items() if v}


def headline(values: Mapping[str, Any], spec: PairedSpec, categories: Mapping[str, str | None] | None = None) -> float:
    """The headline value from per-prompt values (same formula as the delta)."""
    if not values:
        return float("nan")
    if spec.aggregate == "ratio":
        n = sum(v[0] for v in values.values())
        d = sum(v[1] for v in values.values())
        return n / d * spec.scale if d else float("nan")
    if spec.aggregate == "category_mean":
        groups = _group(list(values), categories)
        return float(np.mean([np.mean([values[k] for k in ks]) for ks in groups.values()])) * spec.scale
    return float(np.mean(list(values.values()))) * spec.scale


def _group(keys: Sequence[str], categories: Mapping[str, str | None] | None) -> dict[str | None, list[str]]:
    groups: dict[str | None, list[str]] = {}
    for k in keys:
        groups.setdefault((categories or {}).get(k), []).append(k)
    return groups


@dataclass(frozen=True)
class Delta:
    category: str | None  # None = headline
    delta: float
    ci_low: float
    ci_high: float
    n_pairs: int
    treatment: float
    control: float


def paired_deltas(treatment: Mapping[str, Any], control: Mapping[str, Any], spec: PairedSpec, *,
                  categories: Mapping[str, str | None] | None = None, n_boot: int = stats.DEFAULT_N_BOOT,
                  seed: int = stats.DEFAULT_SEED) -> list[Delta]:
    """Headline delta (treatment - control) with its CI, then one row per category (in first-seen order)."""
    keys = [k for k in control if k in treatment]
    if not keys:
        return [Delta(None, float("nan"), float("nan"), float("nan"), 0, float("nan"), float("nan"))]
    cats = dict(categories or {})
    kw = {"n_boot": n_boot, "seed": seed}
    out = [_delta(None, keys, treatment, control, spec, cats, kw)]
    if categories:
        for cat, ks in _group(keys, cats).items():
            if cat is not None:
                out.append(_delta(cat, ks, treatment, control, spec, cats, kw))
    return out


def _delta(cat: str | None, keys: list[str], t: Mapping[str, Any], c: Mapping[str, Any], spec: PairedSpec,
           cats: Mapping[str, str | None], kw: dict[str, Any]) -> Delta:
    s = spec.scale
    tv = headline({k: t[k] for k in keys}, spec, cats)
    cv = headline({k: c[k] for k in keys}, spec, cats)
    groups = _group(keys, cats)
    if spec.aggregate == "ratio":
        tn, td = (np.array([t[k][i] for k in keys], dtype=float) for i in (0, 1))
        cn, cd = (np.array([c[k][i] for k in keys], dtype=float) for i in (0, 1))

        def stat(idx: np.ndarray) -> float:
            i = idx.astype(int)
            return float(tn[i].sum() / td[i].sum() - cn[i].sum() / cd[i].sum()) * s

        lo, hi = stats.bootstrap_ci(np.arange(len(keys), dtype=float), stat, **kw)
        return Delta(cat, tv - cv, lo, hi, len(keys), tv, cv)
    if spec.aggregate == "category_mean" and len(groups) > 1:
        diffs = [np.array([t[k] - c[k] for k in ks], dtype=float) * s for ks in groups.values()]
        lo, hi = stats.bootstrap_ci_grouped(diffs, lambda arrs: float(np.mean([a.mean() for a in arrs])), **kw)
        return Delta(cat, tv - cv, lo, hi, len(keys), tv, cv)
    _, lo, hi = stats.paired_bootstrap_ci(np.array([t[k] for k in keys]) * s, np.array([c[k] for k in keys]) * s, **kw)
    return Delta(cat, tv - cv, lo, hi, len(keys), tv, cv)
