"""DPG-Bench scoring as pure functions (no model inside), identical to the official script.

Official source: TencentQQGYLab/ELLA ``dpg_bench/compute_dpg_bench.py`` (commit 3c228f1), functions
``compute_dpg_one_sample`` and ``main``. Per prompt grid:

1. every question is asked on every tile; raw score = ``float(answer == 'yes')`` (exact string equality);
2. per tile, questions are visited in CSV order and a question is set to 0 when **any** parent id (``0`` =
   none) currently scores 0; scores change in place, so zeros cascade down chains in that order. A parent id
   that is not a question of the item raises ``KeyError`` (only if reached: the parent loop stops at the
   first zero parent) and the official script then drops the whole image ("Failed filename");
3. tile score = mean over the item's questions; prompt score = mean over tiles;
4. DPG-Bench score = mean over successfully scored prompts x 100.

Category scores (printed by the official script, not the headline) take, per question, the **raw
(pre-dependency) score of the last tile only** (TencentQQGYLab/ELLA#60) and average over all (prompt,
question) entries of a category x 100. `corrected_category_entries` is the labelled alternative: mean over
*all* tiles of the score *after* dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from lensbench.scorers.dpg.questions import Question, category_l1, category_l2

OFFICIAL_YES = "yes"
ANSWER_MODES = ("exact", "normalized")


class MissingParentError(KeyError):
    """A dependency names a proposition id that the item does not have (official: KeyError, image dropped)."""

    def __init__(self, qid: int, parent: int):
        super().__init__(parent)
        self.qid, self.parent = qid, parent

    def __str__(self) -> str:
        return f"question {self.qid} depends on proposition {self.parent}, which the item does not have"


def normalize_answer(answer: str) -> str:
    """Lower-case, trim, drop trailing punctuation and keep the first word: ``' Yes.'`` -> ``'yes'``.

    NOT official (the official check is exact equality); used for VLM judges that answer in sentences.
    """
    words = str(answer).strip().lower().split()
    return words[0].strip(".,!?;:\"'()[]") if words else ""


def answer_score(answer: str, mode: str = "exact") -> float:
    """1.0 if the answer counts as yes, else 0.0. ``exact`` (official): ``answer == 'yes'`` only."""
    if mode == "exact":
        return float(answer == OFFICIAL_YES)
    if mode == "normalized":
        return float(normalize_answer(answer) == OFFICIAL_YES)
    raise ValueError(f"unknown answer mode {mode!r}; use one of {ANSWER_MODES}")


def apply_dependencies(
    dependencies: Mapping[int, Sequence[int]], raw_scores: Mapping[int, float]
) -> tuple[dict[int, float], dict[int, bool]]:
    """Zero questions whose parent currently scores 0, visiting `dependencies` in order (official cascade).

    Returns (scores after dependencies, validity per question). Raises `MissingParentError` where the
    official script raises KeyError. `raw_scores` is not modified.
    """
    scores = dict(raw_scores)
    validity: dict[int, bool] = {}
    for qid, parents in dependencies.items():
        any_parent_no = False
        for parent in parents:
            if parent == 0:
                continue
            if parent not in scores:
                raise MissingParentError(qid, parent)
            if scores[parent] == 0:
                any_parent_no = True
                break
        if any_parent_no:
            scores[qid] = 0
            validity[qid] = False
        else:
            validity[qid] = True
    return scores, validity


def tile_score(scores: Mapping[int, float]) -> float:
    """Mean over the item's questions (official: ``sum(values) / len``)."""
    return sum(scores.values()) / len(scores)


def prompt_score(tile_scores: Sequence[float]) -> float:
    """Mean over the tiles (official: ``sum(scores) / len(scores)``)."""
    return sum(tile_scores) / len(tile_scores)


def dpg_score(prompt_scores: Sequence[float]) -> float:
    """DPG-Bench score: mean over scored prompts x 100 (official: ``np.mean(scores) * 100``)."""
    return float(np.mean(np.asarray(prompt_scores, dtype=float)) * 100)


@dataclass(frozen=True)
class ItemScore:
    """The scoring of one prompt grid. Per-tile lists are in tile order; dicts are keyed by qid in CSV order."""

    raw: tuple[dict[int, float], ...]  # per tile, before dependencies
    final: tuple[dict[int, float], ...]  # per tile, after dependencies
    validity: tuple[dict[int, bool], ...]
    tile_scores: tuple[float, ...]
    prompt_score: float


def score_item(
    questions: Mapping[int, Question], answers: Sequence[Mapping[int, str]], *, answer_mode: str = "exact"
) -> ItemScore:
    """Score one grid from the answers per tile (``answers[t][qid]``), exactly as the official script.

    Raises `MissingParentError` if a reached parent id is not a question of the item (the official script
    then drops the image), and ValueError if there are no tiles or no questions.
    """
    if not answers:
        raise ValueError("no tiles to score")
    if not questions:
        raise ValueError("item has no questions")
    dependencies = {qid: q.dependency for qid, q in questions.items()}
    raws, finals, valids, tiles = [], [], [], []
    for tile_answers in answers:
        raw = {qid: answer_score(tile_answers[qid], answer_mode) for qid in questions}
        final, valid = apply_dependencies(dependencies, raw)
        raws.append(raw)
        finals.append(final)
        valids.append(valid)
        tiles.append(tile_score(final))
    return ItemScore(tuple(raws), tuple(finals), tuple(valids), tuple(tiles), prompt_score(tiles))


# -- categories -----------------------------------------------------------------------------------------
def official_category_entries(questions: Mapping[int, Question], item: ItemScore) -> list[tuple[str, float]]:
    """(L2 category, value) per question as the official script collects them: raw score of the LAST tile."""
    last_raw = item.raw[-1]
    return [(category_l2(q.tuple), last_raw[qid]) for qid, q in questions.items()]


def corrected_category_entries(questions: Mapping[int, Question], item: ItemScore) -> list[tuple[str, float]]:
    """CORRECTED variant (not official): per question, mean over all tiles of the score after dependencies."""
    n = len(item.final)
    return [(category_l2(q.tuple), sum(f[qid] for f in item.final) / n) for qid, q in questions.items()]


def category_scores(entries: Iterable[tuple[str, float]], *, level: str = "l1") -> dict[str, float]:
    """Mean x 100 per category over all (prompt, question) entries (question-weighted, as official).

    `entries` are (L2 category, value) pairs pooled over prompts; ``level="l1"`` pools L2 categories into
    their L1 parent (``l2.split('-')[0].strip()``).
    """
    if level not in ("l1", "l2"):
        raise ValueError(f"level must be 'l1' or 'l2', got {level!r}")
    pooled: dict[str, list[float]] = {}
    for l2, value in entries:
        key = category_l1(l2) if level == "l1" else l2
        pooled.setdefault(key, []).append(value)
    return {k: float(np.mean(v) * 100) for k, v in sorted(pooled.items())}
