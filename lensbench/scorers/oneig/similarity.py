"""OneIG-Bench reasoning, style and diversity: the official aggregation (pure; numbers in, numbers out).

Reasoning (scripts/reasoning/reasoning_score.py): LLM2CLIP cosine similarity of every kept tile with the
reference answer text (``gt_answer[_zh].json``); prompt score = mean over the tiles (None entries dropped);
reasoning = mean over prompts. Files are globbed (``<dir>/<model>/*``, sorted) and the id is the first 3
characters of the file name, so two files of one id are both scored and the later one (sorted) overwrites the
prompt row; an all-black grid makes LLM2CLIP fail (None) and the script crash (``len(None)``) — lensbench
leaves such a prompt out and says so.

Style (scripts/style/style_score.py): only anime prompts whose ``style.csv`` class is set; per kept tile
``CSD = max(max_k(e_csd . ref_csd[k]), 0)`` and ``SE = max(max_k(e_se . ref_se[k]), 0)`` over the 3 reference
rows of its style, tile score = (CSD + SE) / 2; prompt score = mean over tiles (all black: None, left out);
style = mean over prompts; the per-style table (STYLE_LIST order) = mean of the prompt scores of each style
(every file counted, so a duplicate id counts twice there but once in the total).

Diversity (scripts/diversity/diversity_score.py): DreamSim distance of every pair i < j of kept tiles;
prompt score = mean over pairs; grids with fewer than 2 kept tiles are skipped; per-class score = mean over
the class's prompts (duplicates counted); "total average" = mean over the prompt rows of all classes together
(prompt-weighted; a duplicate id keeps only its last value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lensbench.scorers.oneig.official import STYLE_LIST, mean


def reasoning_prompt(similarities: Sequence[float | None] | None) -> float | None:
    """Mean of the tile similarities (None entries dropped); None when nothing was scored."""
    if similarities is None:
        return None
    vals = [float(x) for x in similarities if x is not None]
    return mean(vals) if vals else None


def style_tile(csd_sims: Sequence[float], se_sims: Sequence[float]) -> float:
    """(max(max CSD similarity, 0) + max(max SE similarity, 0)) / 2 for one tile."""
    return (max(max(csd_sims), 0.0) + max(max(se_sims), 0.0)) / 2


def style_prompt(tile_scores: Sequence[float]) -> float | None:
    return mean(tile_scores) if tile_scores else None


def style_table(prompt_styles: Sequence[tuple[str, float | None]]) -> dict[str, float]:
    """Per style (STYLE_LIST order, styles without prompts omitted): mean prompt score."""
    by: dict[str, list[float]] = {s: [] for s in STYLE_LIST}
    for style, score in prompt_styles:
        if score is not None:
            by.setdefault(style, []).append(float(score))
    return {s: mean(v) for s, v in by.items() if v}


def diversity_prompt(pair_distances: Sequence[float]) -> float:
    return mean(pair_distances)


def pairs(n: int) -> list[tuple[int, int]]:
    """The official pair order: i < j, i outer."""
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def class_means(rows: Sequence[tuple[str, str, float | None]]) -> dict[str, float]:
    """(class, id, score) rows in official order -> per-class mean of every non-None row (duplicates counted)."""
    by: dict[str, list[float]] = {}
    for cls, _id, score in rows:
        if score is not None:
            by.setdefault(cls, []).append(float(score))
    return {c: mean(v) for c, v in by.items()}


def prompt_table(rows: Sequence[tuple[str, str, float | None]], *, prefix_class: bool = True,
                 keep_none: bool = False) -> dict[str, float | None]:
    """The official per-prompt CSV: index ``<class>_<id>`` (or ``<id>``), sorted, later rows overwrite earlier
    ones; None rows kept out (a NaN cell is skipped by ``mean``), or kept as None with ``keep_none`` (the CSV
    files: alignment/style write ``None`` for a prompt without kept tiles, an empty cell)."""
    table: dict[str, float | None] = {}
    for cls, item_id, score in rows:
        table[f"{cls}_{item_id}" if prefix_class else item_id] = score
    return {k: (None if v is None else float(v)) for k, v in sorted(table.items()) if keep_none or v is not None}


def total_mean(table: Mapping[str, float]) -> float | None:
    return mean(list(table.values())) if table else None


def summary_number(value: Any, decimals: int = 3) -> str:
    """How the leaderboard / fine_grained_analysis.py prints a score: ``f"{score:.3f}"``, "-" when missing."""
    return "-" if value is None else f"{float(value):.{decimals}f}"
