"""Scorer registry. Entries are lazy ``"module:factory"`` strings; a factory takes ``options: dict``
(backend names, device, constants) and returns a `Scorer`."""

from __future__ import annotations

from lensbench.registry import Registry

SCORERS: Registry = Registry("scorer")
SCORERS.register("text", "lensbench.scorers.ocr.scorer:make_scorer", aliases=("ocr", "text-en", "text-zh"))
SCORERS.register("longtext", "lensbench.scorers.ocr.scorer:make_longtext_scorer", aliases=("longtext-bench",))
SCORERS.register("cvtg", "lensbench.scorers.ocr.scorer:make_cvtg_scorer", aliases=("cvtg-2k",))
SCORERS.register("geneval", "lensbench.scorers.geneval.scorer:make_scorer")
SCORERS.register("dpg", "lensbench.scorers.dpg.scorer:make_scorer")

__all__ = ["SCORERS"]
