"""GenEval summaries: the official ``summary_scores.py`` semantics, and lensbench's version with bootstrap CIs.

Official (djghosh13/geneval @ af4902f, evaluation/summary_scores.py): rows = per-image results; prompts are
grouped by the ``metadata`` JSON string; per tag (in order of first appearance) accuracy = mean of ``correct``
over that tag's images; overall GenEval score = unweighted mean of the tag accuracies; "% correct prompts" counts
a prompt correct when ANY of its images is.

lensbench adds 95% percentile-bootstrap CIs that resample prompts (stratified by tag for the overall score), with
the same point values (ratio of sums per tag, so unequal image counts per prompt are handled exactly).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensbench import stats
from lensbench.errors import UserError
from lensbench.store.results import MetricValue
from lensbench.util.files import iter_jsonl

#: columns of the official results.jsonl (evaluate_images.py), in its order
RESULT_FIELDS: tuple[str, ...] = ("filename", "tag", "prompt", "correct", "reason", "metadata", "details")


@dataclass(frozen=True)
class TagScore:
    accuracy: float
    n_correct: int
    n_images: int


@dataclass
class OfficialSummary:
    n_images: int
    n_prompts: int
    correct_images: float
    correct_prompts: float
    tags: dict[str, TagScore] = field(default_factory=dict)
    overall: float = float("nan")


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """Rows of an official-format results.jsonl (one JSON object per line)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"results file {p} does not exist; pass the results.jsonl written by the GenEval scorer")
    rows = []
    for lineno, row in iter_jsonl(p, "pass an official GenEval results.jsonl"):
        if not isinstance(row, dict) or any(k not in row for k in ("tag", "correct", "metadata")):
            raise UserError(f'{p}:{lineno}: needs "tag", "correct" and "metadata"; pass an official GenEval results.jsonl')
        rows.append(row)
    if not rows:
        raise UserError(f"results file {p} has no rows")
    return rows


def _prompt_key(row: Mapping[str, Any]) -> str:
    meta = row["metadata"]
    return meta if isinstance(meta, str) else json.dumps(meta)


def official_summary(rows: Sequence[Mapping[str, Any]]) -> OfficialSummary:
    """What summary_scores.py computes, from result rows (dicts with tag, correct, metadata)."""
    if not rows:
        raise UserError("no GenEval results to summarise")
    correct = np.array([bool(r["correct"]) for r in rows], dtype=float)
    by_prompt: dict[str, bool] = {}
    by_tag: dict[str, list[float]] = {}
    for r, c in zip(rows, correct):
        key = _prompt_key(r)
        by_prompt[key] = by_prompt.get(key, False) or bool(c)
        by_tag.setdefault(str(r["tag"]), []).append(c)
    tags = {t: TagScore(float(np.mean(v)), int(np.sum(v)), len(v)) for t, v in by_tag.items()}
    return OfficialSummary(
        n_images=len(rows), n_prompts=len(by_prompt), correct_images=float(correct.mean()),
        correct_prompts=float(np.mean(list(by_prompt.values()))), tags=tags,
        overall=float(np.mean([s.accuracy for s in tags.values()])))


def format_official(s: OfficialSummary) -> str:
    """The text summary_scores.py prints, line for line."""
    lines = ["Summary", "=======", f"Total images: {s.n_images}", f"Total prompts: {s.n_prompts}",
             f"% correct images: {s.correct_images:.2%}", f"% correct prompts: {s.correct_prompts:.2%}", "",
             "Task breakdown", "=============="]
    lines += [f"{tag:<16} = {t.accuracy:.2%} ({t.n_correct} / {t.n_images})" for tag, t in s.tags.items()]
    lines += ["", f"Overall score (avg. over tasks): {s.overall:.5f}"]
    return "\n".join(lines)


def summary_dict(s: OfficialSummary, metrics: Iterable[MetricValue] | None = None) -> dict[str, Any]:
    """JSON form: {"overall", "tags": {tag: accuracy}, counts, and "ci" when lensbench metrics are given}."""
    out: dict[str, Any] = {
        "overall": s.overall, "tags": {t: v.accuracy for t, v in s.tags.items()},
        "tag_counts": {t: {"correct": v.n_correct, "images": v.n_images} for t, v in s.tags.items()},
        "n_images": s.n_images, "n_prompts": s.n_prompts,
        "correct_images": s.correct_images, "correct_prompts": s.correct_prompts,
    }
    if metrics is not None:
        ci = {}
        for m in metrics:
            if m.metric == "geneval":
                ci["overall" if m.category is None else m.category] = [m.ci_low, m.ci_high]
        out["ci95"] = ci
    return out


def _group(rows: Sequence[Mapping[str, Any]], key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Per prompt (first-appearance order): tag, number of images, number correct."""
    index: dict[str, int] = {}
    tags: list[str] = []
    n: list[int] = []
    c: list[int] = []
    for r in rows:
        k = str(r[key]) if key != "metadata" else _prompt_key(r)
        if k not in index:
            index[k] = len(tags)
            tags.append(str(r["tag"]))
            n.append(0)
            c.append(0)
        i = index[k]
        n[i] += 1
        c[i] += int(bool(r["correct"]))
    return tags, np.array(n, dtype=float), np.array(c, dtype=float)


def lensbench_metrics(rows: Sequence[Mapping[str, Any]], *, prompt_key: str = "metadata", n_boot: int = stats.DEFAULT_N_BOOT,
                      seed: int = stats.DEFAULT_SEED) -> list[MetricValue]:
    """GenEval overall + per-tag accuracy (official point values) with 95% bootstrap CIs over prompts, plus the
    official side numbers (% correct images, % correct prompts)."""
    tags, n, c = _group(rows, prompt_key)
    order = list(dict.fromkeys(tags))
    groups = {t: np.array([i for i, tt in enumerate(tags) if tt == t], dtype=float) for t in order}

    def ratio(idx: np.ndarray) -> float:
        idx = idx.astype(int)
        return float(c[idx].sum() / n[idx].sum())

    out = []
    tag_values = []
    for t in order:
        value = ratio(groups[t])
        tag_values.append(value)
        lo, hi = stats.bootstrap_ci(groups[t], ratio, n_boot=n_boot, seed=seed)
        out.append(MetricValue("geneval", value, len(groups[t]), lo, hi, category=t, unit="fraction"))
    lo, hi = stats.bootstrap_ci_grouped([groups[t] for t in order], lambda arrs: float(np.mean([ratio(a) for a in arrs])),
                                        n_boot=n_boot, seed=seed)
    overall = MetricValue("geneval", float(np.mean(tag_values)), len(tags), lo, hi, category=None, unit="fraction")
    all_idx = np.arange(len(tags), dtype=float)
    lo_i, hi_i = stats.bootstrap_ci(all_idx, ratio, n_boot=n_boot, seed=seed)
    anyc = (c > 0).astype(float)
    lo_p, hi_p = stats.bootstrap_ci(anyc, n_boot=n_boot, seed=seed)
    return [overall, *out,
            MetricValue("geneval_image_accuracy", ratio(all_idx), len(tags), lo_i, hi_i, unit="fraction"),
            MetricValue("geneval_prompt_any", float(anyc.mean()), len(tags), lo_p, hi_p, unit="fraction")]
