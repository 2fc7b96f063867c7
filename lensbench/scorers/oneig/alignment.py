"""OneIG-Bench alignment: the official logic of scripts/alignment/alignment_score.py (pure; no model).

Per prompt (``Q_D/<class>[_zh].json``: question and dependency graphs, both JSON *strings* decoded a second
time, keys turned into ints):

1. every question is asked of every kept tile; raw score = ``float(answer == "Yes")`` (exact match: "yes",
   "Yes." or " Yes" score 0);
2. per tile, a question whose *direct* parent (ids in its dependency list, 0 = none) has a RAW score of 0 is
   set to 0 (filtering reads the raw scores, so it does not cascade through a grandparent); a parent id the
   question graph does not have is ignored (the official bare ``except`` prints and continues);
3. tile score = sum over questions 1..N of the filtered scores / N (the loop indexes ``question_id + 1`` for
   ``question_id in range(N)``, so ids must be exactly 1..N or the official script crashes);
4. prompt score = mean of the tile scores; a prompt whose grid is missing, matched by several files, or has
   only black tiles is None and is left out of the mean over prompts (pandas ``mean`` skips NaN);
5. alignment = mean over all scored prompts of every class together (prompt-weighted, not class-weighted).

Fixes offered as options (recorded): ``answer_match="normalized"`` (case/space/punctuation-insensitive "yes"),
``cascade=True`` (filter against filtered parents, i.e. through the whole ancestor chain).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lensbench.errors import UserError
from lensbench.scorers.oneig.official import YES, mean

ANSWER_MATCHES = ("exact", "normalized")


@dataclass(frozen=True)
class QuestionGraph:
    questions: dict[int, str]
    dependencies: dict[int, list[int]]


def parse_graph(entry: Mapping[str, Any], where: str = "") -> QuestionGraph:
    """One Q_D entry -> ints-keyed questions and dependencies (the fields are JSON strings, or already dicts)."""
    try:
        q = entry["question"]
        d = entry["dependency"]
        q = json.loads(q) if isinstance(q, str) else q
        d = json.loads(d) if isinstance(d, str) else d
        questions = {int(k): str(v) for k, v in q.items()}
        deps = {int(k): [int(p) for p in v] for k, v in d.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UserError(f"OneIG question graph {where} is malformed ({exc}); restore the official Q_D file") from None
    return QuestionGraph(questions, deps)


def answer_score(answer: str, match: str = "exact") -> float:
    """Raw score of one VQA answer: official ``float(ans == "Yes")``; normalized: first word, lower case,
    punctuation stripped, equals "yes"."""
    if match == "exact":
        return float(answer == YES)
    words = re.sub(r"[^\w\s]", " ", str(answer)).strip().lower().split()
    return float(bool(words) and words[0] == "yes")


def filter_scores(raw: Mapping[int, Sequence[float]], deps: Mapping[int, Sequence[int]], n_tiles: int,
                  *, cascade: bool = False) -> dict[int, list[float]]:
    """Zero a question on a tile when a direct parent's RAW score is 0 there (official). ``cascade``: use the
    already-filtered parent scores, following the graph in dependency order (a fix; not official)."""
    out = {qid: list(v) for qid, v in raw.items()}
    order = list(deps.items())
    for t in range(n_tiles):
        for qid, parents in order:
            if qid not in out:
                continue  # official: filter_score[id] would KeyError; ids not asked are not scored either
            source = out if cascade else raw
            for p in parents:
                if p == 0 or p not in source:
                    continue  # 0 = no parent; unknown parent ignored (official bare except)
                if source[p][t] == 0:
                    out[qid][t] = 0.0
                    break
    return out


def prompt_score(graph: QuestionGraph, answers: Mapping[int, Sequence[str]], *, match: str = "exact",
                 cascade: bool = False) -> dict[str, Any]:
    """Official prompt score from the answers (question id -> one answer per kept tile, tile order)."""
    qids = sorted(graph.questions)
    if qids != list(range(1, len(qids) + 1)):
        raise UserError(f"question ids {qids[:5]}... are not 1..N; the official script indexes them 1..N")
    n_tiles = len(answers[qids[0]]) if qids else 0
    if n_tiles == 0:
        return {"score": None, "tile_scores": [], "raw": {}, "filtered": {}}
    raw = {q: [answer_score(a, match) for a in answers[q]] for q in graph.questions}  # graph order, as official
    filtered = filter_scores(raw, graph.dependencies, n_tiles, cascade=cascade)
    n = len(filtered)
    tiles = [sum(filtered[q + 1][t] for q in range(n)) / n for t in range(n_tiles)]
    return {"score": mean(tiles), "tile_scores": tiles, "raw": raw, "filtered": filtered}


def alignment_score(prompt_scores: Sequence[float | None]) -> float | None:
    """Mean over prompts, NaN/None skipped (pandas DataFrame.mean)."""
    vals = [float(s) for s in prompt_scores if s is not None]
    return mean(vals) if vals else None
