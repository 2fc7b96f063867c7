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


def make_scorer(name: str, options: dict[str, Any] | None = None, *, trust_remote_code: bool = False):
    """Build the scorer registered as `name` with its ``-O`` options (unknown names: did-you-mean).

    Code shipped with a backend's weights (e.g. OneIG's LLM2CLIP) runs only when `trust_remote_code` is given
    here (the CLI's ``--trust-remote-code``): as an ``-O`` option, which a grid or config file could carry, it
    is refused."""
    from dataclasses import is_dataclass

    from lensbench.errors import UserError
    from lensbench.options import option_names

    options = dict(options or {})
    if "trust_remote_code" in options:
        raise UserError("trust_remote_code is not a scorer option: code shipped with weights runs only with "
                        "`--trust-remote-code` on the command line (or trust_remote_code=True in the Python API)")
    cls = SCORERS.get(name)
    opts = getattr(cls, "Options", None)
    if trust_remote_code and is_dataclass(opts) and "trust_remote_code" in option_names(opts):
        options["trust_remote_code"] = True
    return cls(options)


def scorer_class(name: str) -> type | None:
    """The `Scorer` subclass registered as `name` (None when the entry is a plain factory function and not a
    class: its class attributes are then only known from an instance)."""
    entry = SCORERS.get(name)
    if isinstance(entry, type):
        return entry
    return getattr(entry, "scorer_class", None)


__all__ = ["SCORERS", "make_scorer", "scorer_class"]
