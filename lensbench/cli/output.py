"""Summary lines of the long-running commands (generate, score, speed, ablate).

`say` prints a summary line only where it belongs: from one process (rank 0 under torchrun; the other ranks
did part of the same run and would repeat it) and not after ``-q`` ("errors only"). Errors never go through
here. `score_lines` formats the score summary with the scorer's `MetricMeta` (counts as integers, each
metric with its own decimals).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import typer


def should_print() -> bool:
    """False after ``-q`` and on every torchrun rank but 0."""
    from lensbench.dist import DistContext
    from lensbench.util import terminal

    return terminal.verbosity() >= 0 and DistContext.from_env().is_main


def say(message: str, err: bool = False) -> None:
    if should_print():
        typer.echo(message, err=err)


def is_main_rank() -> bool:
    """Requested output (``--json``, ``--dry-run`` plans) is printed by rank 0 only; ``-q`` keeps it."""
    from lensbench.dist import DistContext

    return DistContext.from_env().is_main


def format_value(value: float | None, meta: Any = None) -> str:
    """A metric value as its `MetricMeta` says: counts as integers, otherwise `decimals` places (4 if unknown)."""
    if value is None:
        return "n/a"
    if meta is not None and getattr(meta, "unit", None) == "count":
        return str(int(round(value)))
    decimals = 4 if meta is None else int(getattr(meta, "decimals", 4))
    return f"{value:.{decimals}f}"


def score_lines(out: Mapping[str, Any], metrics_meta: Mapping[str, Any] | None = None) -> list[str]:
    """The `lensbench score` summary: header, a partial-coverage line, one line per overall metric."""
    meta = metrics_meta or {}
    lines = [f"scored {out['scored_now']} new of {out['units']} units with {out['scorer']} "
             f"(scorer fingerprint {out.get('fingerprint_id')}) in {out['seconds']:.1f}s"]
    results = out.get("results") or {}
    cov = results.get("coverage") or {}
    if cov.get("partial"):
        total = cov.get("prompts_total")
        line = f"  partial: {cov.get('prompts_scored')} of {total if total is not None else '?'} prompts"
        known = list(cov.get("categories_total") or [])
        if known:  # categories only when the suite declares them
            line += f", categories {len(cov.get('categories_present') or [])} of {len(known)}"
        lines.append(line)
    for m in results.get("metrics", []):
        if m.get("category") is not None:
            continue
        mm = meta.get(m["metric"])
        ci = ""
        if m.get("ci_low") is not None and m.get("ci_high") is not None:
            ci = f" [{format_value(m['ci_low'], mm)}, {format_value(m['ci_high'], mm)}]"
        n = f" (n={m['n']})" if m.get("n") is not None else ""
        lines.append(f"  {m['metric']}: {format_value(m.get('value'), mm)}{ci}{n}")
    return lines


__all__ = ["say", "should_print", "is_main_rank", "format_value", "score_lines"]
