"""Scorer registry. Entries are lazy ``"module:attr"`` strings naming a `Scorer` subclass (or a factory): called
with ``options: dict`` (the ``-O key=value`` pairs) it returns a `Scorer`.

Adding a scorer is one package plus one ``SCORERS.register`` line: reports and ablations read the scorer's
class attributes (`metrics_meta`, `paired_rule`) through `scorer_class`.
"""

from __future__ import annotations

from typing import Any

from lensbench.registry import Registry

SCORERS: Registry = Registry("scorer")
SCORERS.register("text", "lensbench.scorers.ocr.scorer:TextScorer", aliases=("ocr", "text-en", "text-zh"))
SCORERS.register("longtext", "lensbench.scorers.ocr.scorer:LongTextScorer", aliases=("longtext-bench",))
SCORERS.register("cvtg", "lensbench.scorers.ocr.scorer:CvtgScorer", aliases=("cvtg-2k",))
SCORERS.register("geneval", "lensbench.scorers.geneval.scorer:GenEvalScorer")
SCORERS.register("dpg", "lensbench.scorers.dpg.scorer:DpgScorer")
SCORERS.register("oneig", "lensbench.scorers.oneig.scorer:OneigScorer", aliases=("oneig-bench",))
SCORERS.register("clipscore", "lensbench.scorers.clipscore.scorer:ClipScoreScorer", aliases=("clip-score",))


def make_scorer(name: str, options: dict[str, Any] | None = None):
    """Build the scorer registered as `name` with its ``-O`` options (unknown names: did-you-mean)."""
    return SCORERS.get(name)(dict(options or {}))


def scorer_class(name: str) -> type | None:
    """The `Scorer` subclass registered as `name` (None when the entry is a plain factory function and not a
    class: its class attributes are then only known from an instance)."""
    entry = SCORERS.get(name)
    if isinstance(entry, type):
        return entry
    return getattr(entry, "scorer_class", None)


__all__ = ["SCORERS", "make_scorer", "scorer_class"]
