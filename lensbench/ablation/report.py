"""Ablation outputs: the tidy table (one row per cell × metric × category; CSV + Markdown), the headline summary,
the per-language table, and charts (metric vs axis; matplotlib Agg, no pyplot state).

Rows are plain dicts with the columns in `COLUMNS` (plus one column per grid axis after "label").
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lensbench.store.atomic import write_bytes_atomic, write_text_atomic

COLUMNS = ("grid", "cell", "control", "label", "model", "scorer", "metric", "category", "value", "ci_low", "ci_high",
           "n", "unit", "delta", "delta_ci_low", "delta_ci_high", "n_pairs", "paired")


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


def columns_for(axes: Sequence[str]) -> list[str]:
    cols = list(COLUMNS)
    i = cols.index("label") + 1
    return cols[:i] + [a for a in axes if a not in cols] + cols[i:]


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([("true" if r.get(c) else "false") if isinstance(r.get(c), bool) else _fmt(r.get(c), 6)
                    for c in columns])
    return buf.getvalue()


def to_markdown(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    esc = [[str(c).replace("|", "\\|") for c in row] for row in [list(header), *rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(lines) + "\n"


def _ci(v: Any, lo: Any, hi: Any, digits: int = 4, signed: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    s = f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"
    if lo is not None and hi is not None and not (math.isnan(lo) or math.isnan(hi)):
        s += f" [{lo:+.{digits}f}, {hi:+.{digits}f}]" if signed else f" [{lo:.{digits}f}, {hi:.{digits}f}]"
    return s


def tidy_markdown(rows: Sequence[Mapping[str, Any]], axes: Sequence[str]) -> str:
    header = ["cell", *axes, "scorer", "metric", "category", "value [95% CI]", "Δ vs control [95% CI]", "n", "n pairs"]
    body = [[r["cell"] + (" (control)" if r.get("control") else ""), *(_fmt(r.get(a)) for a in axes), r["scorer"],
             r["metric"], r.get("category") or "overall", _ci(r["value"], r.get("ci_low"), r.get("ci_high")),
             "control" if r.get("control") else _ci(r.get("delta"), r.get("delta_ci_low"), r.get("delta_ci_high"),
                                                     signed=True) + ("" if r.get("paired") else " (unpaired)"),
             _fmt(r.get("n")), _fmt(r.get("n_pairs"))] for r in rows]
    return to_markdown(body, header)


def summary_markdown(rows: Sequence[Mapping[str, Any]], axes: Sequence[str], cells: Mapping[str, Mapping[str, Any]],
                     headline: Mapping[str, str]) -> str:
    """Headline metric of each scorer per cell with its paired delta, and how many of the cell's images were made
    in it vs taken from the image cache."""
    out = []
    for scorer, metric in headline.items():
        header = ["cell", *axes, f"{metric} [95% CI]", "Δ vs control [95% CI]", "n pairs", "images made", "from cache"]
        body = []
        for r in rows:
            if r["scorer"] != scorer or r["metric"] != metric or r.get("category") is not None:
                continue
            g = cells.get(r["cell"], {})
            body.append([r["cell"] + (" (control)" if r.get("control") else ""), *(_fmt(r.get(a)) for a in axes),
                         _ci(r["value"], r.get("ci_low"), r.get("ci_high")),
                         "–" if r.get("control") else _ci(r.get("delta"), r.get("delta_ci_low"), r.get("delta_ci_high"),
                                                          signed=True),
                         _fmt(r.get("n_pairs")), _fmt(g.get("made_in_cell")), _fmt(g.get("from_cache"))])
        out.append(f"**{scorer}**: {metric}\n\n" + to_markdown(body, header))
    return "\n".join(out)


def language_markdown(rows: Sequence[Mapping[str, Any]], languages: Sequence[str], control: str, metric: str) -> str:
    """Rows = overall + categories; columns = languages: value, and Δ vs the control language with its CI."""
    by: dict[tuple[str | None, str], Mapping[str, Any]] = {}
    cats: list[str | None] = []
    for r in rows:
        if r["metric"] != metric:
            continue
        by[(r.get("category"), r["language"])] = r
        if r.get("category") not in cats:
            cats.append(r.get("category"))
    order = {c: i for i, c in enumerate(cats)}
    cats = sorted(cats, key=lambda c: (c is not None, order[c]))
    header = ["category", *(f"{lang}" + (" (control)" if lang == control else "") for lang in languages)]
    body = []
    for cat in cats:
        cells = []
        for lang in languages:
            r = by.get((cat, lang))
            if r is None:
                cells.append("–")
            elif lang == control:
                cells.append(_fmt(r["value"]))
            else:
                cells.append(f"{_fmt(r['value'])} ({_ci(r.get('delta'), r.get('delta_ci_low'), r.get('delta_ci_high'), signed=True)})")
        body.append([cat or "overall", *cells])
    return to_markdown(body, header)


def write_table(path_stem: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], markdown: str) -> list[Path]:
    csv_path, md_path = path_stem.with_suffix(".csv"), path_stem.with_suffix(".md")
    write_text_atomic(csv_path, to_csv(rows, columns))
    write_text_atomic(md_path, markdown)
    return [csv_path, md_path]


# -- charts -----------------------------------------------------------------------------------------------------------
def _numeric(values: Sequence[Any]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def chart_metric_vs_axis_figure(rows: Sequence[Mapping[str, Any]], axis: str, other_axes: Sequence[str],
                                metric: str, control_cell: str):
    """One series per combination of the other axes; y = metric with its 95% CI whiskers; the control cell is
    ringed. A numeric axis (steps, guidance) joins its points with lines; a categorical one (language, rewriter,
    model) is drawn as markers only, side by side, since a line between categories would suggest an order."""
    import matplotlib

    from lensbench.reports import style

    xs_all = list(dict.fromkeys(r[axis] for r in rows))
    numeric = _numeric(xs_all)
    pos = {x: (float(x) if numeric else i) for i, x in enumerate(xs_all)}
    series: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        key = ", ".join(f"{a}={r.get(a)}" for a in other_axes) or metric
        series.setdefault(key, []).append(r)
    with matplotlib.rc_context(style.rc()):
        fig = style.figure(0.75, 3.4)
        ax = fig.add_subplot(111)
        span = (max(pos.values()) - min(pos.values())) or 1.0
        spread = 0.02 * span if numeric else min(0.3, 0.6 / max(len(series), 1))
        for j, (label, pts) in enumerate(series.items()):
            pts = sorted(pts, key=lambda r: pos[r[axis]])
            dodge = (j - (len(series) - 1) / 2) * spread  # keep overlapping series visible
            x = [pos[r[axis]] + dodge for r in pts]
            y = [r["value"] for r in pts]
            lo = [r["value"] - r["ci_low"] if r.get("ci_low") is not None else 0.0 for r in pts]
            hi = [r["ci_high"] - r["value"] if r.get("ci_high") is not None else 0.0 for r in pts]
            ax.errorbar(x, y, yerr=[lo, hi], marker="o", capsize=3, label=label, ls="-" if numeric else "none")
            for r, xi in zip(pts, x):
                if r["cell"] == control_cell:
                    ax.plot([xi], [r["value"]], marker="o", markersize=12, markerfacecolor="none", color="black",
                            ls="none")
        ax.set_xticks(list(pos.values()), [str(x) for x in xs_all])
        if not numeric:
            ax.set_xlim(-0.6, len(xs_all) - 0.4)
        ax.set_xlabel(axis)
        ax.set_ylabel(f"{metric}\n({style.CI_LABEL})")
        ax.set_title(f"{metric} vs {axis} (ringed: control)")
        if len(series) > 1:
            ax.legend(fontsize=style.current().small_font)
        return fig


def check_chart_style(name: str | None) -> None:
    """Refuse an unknown --chart-style early (before any image is made); None = the environment's or paper."""
    if name is not None:
        from lensbench.reports import style

        style.parse_style(name)


def chart_metric_vs_axis(path: Path, rows: Sequence[Mapping[str, Any]], axis: str, other_axes: Sequence[str],
                         metric: str, control_cell: str, chart_style: str | None = None) -> Path:
    """Write the chart as PDF, SVG and PNG next to `path` (each atomically); returns the PNG path.
    `chart_style`: paper | slides (None: $LENSBENCH_CHART_STYLE, else paper)."""
    import contextlib

    import matplotlib

    from lensbench.reports import style

    with style.use(chart_style) if chart_style is not None else contextlib.nullcontext():
        fig = chart_metric_vs_axis_figure(rows, axis, other_axes, metric, control_cell)
        with matplotlib.rc_context(style.rc()):
            for fmt in style.FORMATS:
                buf = io.BytesIO()
                fig.savefig(buf, format=fmt, metadata=style.METADATA[fmt])
                write_bytes_atomic(path.with_suffix(f".{fmt}"), buf.getvalue())
    return path.with_suffix(".png")
