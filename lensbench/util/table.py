"""Fixed-width text tables: the one aligner used by report text tables, speed tables and the ablation plan."""

from __future__ import annotations

from collections.abc import Container, Sequence


def align(rows: Sequence[Sequence[str]], numeric: Container[int] = (), rule: bool = True) -> list[str]:
    """Lines of `rows` (the first is the header) padded to column widths: columns in `numeric` right-aligned,
    others left-aligned; a dashed rule under the header when `rule`. Trailing blanks are stripped."""
    if not rows:
        return []
    n = max(len(r) for r in rows)
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(n)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(rows[0])]
    if rule:
        out.append("  ".join("-" * w for w in widths))
    out += [line(r) for r in rows[1:]]
    return out
