"""Aggregate OneIG per-prompt records into the official numbers, with 95% bootstrap CIs over prompts.

Metrics (``L`` = ``oneig_en`` | ``oneig_zh``; values are fractions as the official scripts print them):

* ``L`` category alignment / text / reasoning / style / diversity: the five dimension scores (official);
* ``L`` headline (category None): the mean of the five dimension scores — what papers publish as "overall"
  (the official code never combines the dimensions; shared/data/oneig/README.md checks it against the Z-Image
  report). Only emitted when all five dimensions have scored prompts;
* ``L_alignment`` / ``L_diversity`` by class folder, ``L_reasoning`` by subject, ``L_style`` by style
  (STYLE_LIST order); ``L_text_ed``, ``L_text_cr``, ``L_text_wac``: the text components, and ``L_text_score``
  the official combination of them (text_score.py's "text score" column, = the text dimension score);
* ``oneig_alignment``: the alignment score again under a language-free name (the ablation paired rule).

CIs resample prompts jointly (one index set over all scored prompts; each dimension recomputes its official
statistic on the prompts of the sample that belong to it), so the overall CI respects that diversity and
alignment share prompts. Text recomputes the pooled ED / CR / WAC formula on the resampled prompts. The overall
has no CI when any dimension has fewer than two scored prompts (nothing to resample there).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lensbench.scorers.oneig import fine_grained as fg
from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig import similarity as sim
from lensbench.scorers.oneig import text as tx
from lensbench.stats import bootstrap_ci, bootstrap_ci_grouped
from lensbench.store.results import MetricValue


def ok_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted((r for r in records if r.get("status", "ok") == "ok"), key=lambda r: str(r.get("item_id")))


def text_tiles(records: Sequence[dict[str, Any]], d: dict[str, Any], black_grid: str) -> dict[str, list[dict]]:
    """item_id -> resolved text tiles, applying the stale-OCR rule in text_content.csv order."""
    by_id = {r["oneig_id"]: r for r in records if r.get("folder") == "text" and isinstance(r.get("text"), dict)}
    prompts = []
    for oid, gt in d["text"]:
        rec = by_id.get(oid)
        ocr = None if rec is None or "ocr" not in rec["text"] else list(rec["text"]["ocr"])
        if rec is not None and rec["text"].get("tiles") == 0:
            ocr = []  # every tile black
        prompts.append(tx.TextPrompt(oid, gt, ocr))
    resolved = tx.resolve_prompts(prompts, black_grid=black_grid)
    return {f"text_{p.item_id}": p.tiles for p in resolved if p.tiles}


def dimension_values(records: Sequence[dict[str, Any]], d: dict[str, Any], black_grid: str = "stale") -> dict[str, Any]:
    """Per-prompt arrays every statistic is computed from (aligned with `ids`)."""
    recs = ok_records(records)
    ids = [r["item_id"] for r in recs]
    n = len(recs)
    val = {dim: np.full(n, np.nan) for dim in ("alignment", "reasoning", "style", "diversity")}
    text = np.zeros((n, 5))  # ed_sum, cr_sum, n_tiles, matches, gt_words
    tt = text_tiles(recs, d, black_grid)
    for i, r in enumerate(recs):
        for dim in val:
            block = r.get(dim)
            if isinstance(block, dict) and block.get("score") is not None:
                val[dim][i] = float(block["score"])
        tiles = tt.get(r["item_id"])
        if tiles:
            text[i] = [sum(t["ed"] for t in tiles), sum(t["cr"] for t in tiles), len(tiles),
                       sum(t["matches"] for t in tiles), sum(t["gt_words"] for t in tiles)]
    return {"ids": ids, "records": recs, "values": val, "text": text, "text_tiles": tt}


def _text_stat(text: np.ndarray, max_ed: int) -> dict[str, float] | None:
    n_tiles = text[:, 2].sum()
    if n_tiles == 0:
        return None
    ed, cr = text[:, 0].sum() / n_tiles, text[:, 1].sum() / n_tiles
    wac = text[:, 3].sum() / text[:, 4].sum() if text[:, 4].sum() else float("nan")
    return {"ED": ed, "CR": cr, "WAC": wac, "text score": 1 - min(max_ed, ed) * (1 - cr) * (1 - wac) / max_ed}


def dimension_members(v: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per dimension: indices of the prompts it scored (the units its official statistic runs over)."""
    out = {dim: np.flatnonzero(~np.isnan(arr)) for dim, arr in v["values"].items()}
    out["text"] = np.flatnonzero(v["text"][:, 2] > 0)
    return out


def dimension_score(v: dict[str, Any], dim: str, idx: np.ndarray, max_ed: int) -> float | None:
    """The official statistic of one dimension over the prompts `idx` (repeats allowed: a bootstrap sample)."""
    if dim == "text":
        t = _text_stat(v["text"][idx], max_ed)
        return t["text score"] if t else None
    x = v["values"][dim][idx]
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size else None


def dimension_scores(v: dict[str, Any], idx: np.ndarray, max_ed: int) -> dict[str, float | None]:
    return {dim: dimension_score(v, dim, idx, max_ed) for dim in of.DIMENSIONS}


def overall(scores: dict[str, float | None]) -> float | None:
    vals = [scores.get(d) for d in of.DIMENSIONS]
    return None if any(x is None for x in vals) else float(sum(vals) / len(vals))


def _ci(idx: np.ndarray, stat, **kw) -> tuple[float, float]:
    """Bootstrap over the prompts `idx` (resampled with replacement), `stat(indices) -> value`."""
    return bootstrap_ci(idx.astype(float), lambda x: stat(x.astype(int)), **kw)


def summarize_records(records: Sequence[dict[str, Any]], d: dict[str, Any], *, black_grid: str = "stale",
                      n_boot: int = 2000, seed: int = 0, alpha: float = 0.05,
                      fine_missing: str = "nan") -> list[MetricValue]:
    lang = d["lang"]
    L = f"oneig_{lang}"
    max_ed = of.MAX_EDIT_DISTANCE[lang]
    v = dimension_values(records, d, black_grid)
    kw = {"n_boot": n_boot, "seed": seed, "alpha": alpha}
    members = dimension_members(v)
    scores = {dim: dimension_score(v, dim, members[dim], max_ed) for dim in of.DIMENSIONS}
    out: list[MetricValue] = []
    for dim in of.DIMENSIONS:
        if scores[dim] is None:
            continue
        lo, hi = _ci(members[dim], lambda idx, dim=dim: dimension_score(v, dim, idx, max_ed), **kw)
        out.append(MetricValue(L, scores[dim], int(members[dim].size), lo, hi, category=dim, unit="fraction"))
    total = overall(scores)
    if total is not None:  # stratified: each dimension resamples its own prompts
        groups = [members[dim].astype(float) for dim in of.DIMENSIONS]
        if min(g.size for g in groups) < 2:  # a dimension of one prompt has no spread: no CI (stats.py's rule)
            lo, hi = float("nan"), float("nan")
        else:
            lo, hi = bootstrap_ci_grouped(groups, lambda gs: float(np.mean(
                [dimension_score(v, dim, g.astype(int), max_ed) for dim, g in zip(of.DIMENSIONS, gs)])), **kw)
        out.insert(0, MetricValue(L, total, len(v["ids"]), lo, hi, unit="fraction"))
    if scores["alignment"] is not None:
        a = next(m for m in out if m.category == "alignment")
        out.append(MetricValue("oneig_alignment", a.value, a.n, a.ci_low, a.ci_high, unit="fraction"))
    t = _text_stat(v["text"], max_ed)
    if t:
        for key, name, hib in (("ED", "text_ed", False), ("CR", "text_cr", True), ("WAC", "text_wac", True),
                               ("text score", "text_score", True)):  # text_score.py's combined "text score" column
            lo, hi = _ci(members["text"], lambda idx, key=key: _text_stat(v["text"][idx], max_ed)[key], **kw)
            out.append(MetricValue(f"{L}_{name}", t[key], int(members["text"].size), lo, hi, higher_is_better=hib,
                                   unit="characters" if key == "ED" else "fraction"))
    out.extend(_breakdowns(v, d, L, kw, fine_missing))
    return out


def _group_metric(name: str, arr: np.ndarray, groups: list[str | None], order: Sequence[str], kw) -> list[MetricValue]:
    out = []
    for g in order:
        sel = np.array([x == g for x in groups]) & ~np.isnan(arr)
        if sel.any():
            x = arr[sel]
            lo, hi = bootstrap_ci(x, **kw)
            out.append(MetricValue(name, float(x.mean()), int(x.size), lo, hi, category=g, unit="fraction"))
    return out


def _breakdowns(v: dict[str, Any], d: dict[str, Any], L: str, kw, fine_missing: str = "nan") -> list[MetricValue]:
    recs = v["records"]
    folders = [r.get("folder") for r in recs]
    out = _group_metric(f"{L}_alignment", v["values"]["alignment"], folders, of.FOLDERS, kw)
    out += _group_metric(f"{L}_diversity", v["values"]["diversity"], folders, of.FOLDERS, kw)
    styles = [(r.get("style") or {}).get("style") for r in recs]
    out += _group_metric(f"{L}_style", v["values"]["style"], styles, of.STYLE_LIST, kw)
    subjects = [d.get("subjects", {}).get(r.get("oneig_id")) if r.get("folder") == "reasoning" else None for r in recs]
    out += _group_metric(f"{L}_reasoning", v["values"]["reasoning"], subjects, fg.SUBJECTS, kw)
    if lang_of(L) == "en":  # fine_grained_analysis.py: type / length tables for EN only
        meta = d.get("meta", {})
        # an alignment prompt scored None (all tiles black) is an empty cell that fine_grained_analysis.py sums
        # as NaN: its buckets have no value officially (fine_missing="nan"); diversity writes no such row
        unscored = [isinstance(r.get("alignment"), dict) and r["alignment"].get("score") is None for r in recs]
        for dim in ("alignment", "diversity"):
            for key, tags in (("type", fg.TAGS[:2]), ("prompt_length", fg.TAGS[2:])):
                groups = [meta.get(r["item_id"], {}).get(key) for r in recs]
                if dim == "alignment" and fine_missing == "nan":
                    poisoned = {g for g, bad in zip(groups, unscored) if bad}
                    tags = tuple(t for t in tags if t not in poisoned)
                out += _group_metric(f"{L}_{dim}_fine", v["values"][dim], groups, tags, kw)
    tables = fg.fine_grained(v, d, missing=fine_missing)
    text = tables.get("text", {})
    for cat, value in text.items():
        if not cat.endswith("_n"):
            out.append(MetricValue(f"{L}_text_fine", value, int(text[cat.split("_")[0] + "_n"]), category=cat,
                                   higher_is_better=not cat.endswith("_ED"),
                                   unit="characters" if cat.endswith("_ED") else "fraction"))
    n_styles = {name: len(styles) for name, styles in fg.STYLE_TYPES.items()}
    for cat, value in tables.get("style", {}).items():
        out.append(MetricValue(f"{L}_style_type", value, n_styles[cat], category=cat, unit="fraction"))
    return out


def lang_of(metric: str) -> str:
    return metric.split("_")[1]


def coverage_extra(scorer, suite, scored_units, cov: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    """OneIG keys for the results' coverage block (RULES.md contract 3): per dimension, the prompts scored
    against the whole official benchmark of the language; a subset suite (-S categories / dimensions) or a
    dimension not scored makes the run partial; a non-official data file makes it off-protocol."""
    from lensbench.suites import oneig

    lang = d["lang"]
    items = oneig.load_items(d["data"], lang)  # the whole official benchmark of this language
    wanted = list(scorer.wanted_dims) or list(of.DIMENSIONS)
    total = {dim: sum(dim in scorer.dims_of(it, d) for it in items) for dim in of.DIMENSIONS}
    scored = {dim: sum(dim in u.info.get("dims", ()) for u in scored_units) for dim in of.DIMENSIONS}
    missing = [dim for dim in of.DIMENSIONS if scored[dim] == 0]
    reasons = list(cov.get("off_protocol_reasons") or [])
    prov = oneig_data_provenance(d)
    if prov["modified"]:
        reasons.append(f"non-official OneIG data file(s): {', '.join(prov['modified'])}")
    n_scored = len({u.item.id for u in scored_units})
    partial = bool(cov.get("partial")) or n_scored < len(items) or bool(missing) or any(
        scored[k] < total[k] for k in wanted)
    return {
        "prompts_total": len(items), "fraction": n_scored / len(items) if items else None,
        "categories_total": sorted({it.metadata["folder"] for it in items}),
        "language": lang, "partial": partial, "official_protocol": not reasons, "off_protocol_reasons": reasons,
        "dimensions_scored": [dim for dim in of.DIMENSIONS if scored[dim]], "dimensions_missing": missing,
        "dimensions": {dim: {"prompts_scored": scored[dim], "prompts_total": total[dim]} for dim in of.DIMENSIONS},
        "suite_subset": {k: suite.options[k] for k in ("categories", "dimensions") if k in suite.options},
    }


def oneig_data_provenance(d: dict[str, Any]) -> dict[str, Any]:
    from lensbench.suites import oneig_data

    return oneig_data.provenance(d["data"])


def printed(value: float | None) -> str:
    """The 3-decimal form papers and the leaderboard print."""
    return sim.summary_number(value)
