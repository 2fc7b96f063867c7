"""`build_report`: runs and/or published baselines -> tables (md/csv/latex/html), charts (PNG/SVG), an index.

Output layout of ``out_dir``::

    README.md            index: headline tables inline, links to every table, embedded charts
    tables/<name>.<ext>  one file per table and format (md, csv, tex, html)
    charts/<name>.pdf|svg|png (one style: lensbench.reports.style; --chart-style paper|slides)
"""

from __future__ import annotations

import os
from pathlib import Path

from lensbench.errors import UserError
from lensbench.reports.tables import EXTENSIONS, FORMATS, Table, parse_formats, to_markdown, write_table

INLINE_TABLES = ("comparison", "quality", "published_vs_reproduced")


def _tables(runs, b, allow_partial: bool = False) -> list[Table]:
    from lensbench.reports import run_tables
    from lensbench.reports.published_tables import published_tables

    if not runs:
        return published_tables(b)
    tables = [run_tables.quality_table(runs, b), *run_tables.category_tables(runs, b)]
    if b is not None:
        tables.append(run_tables.published_vs_reproduced(runs, b, allow_partial=allow_partial))
    tables += [run_tables.speed_table(runs), run_tables.stage_table(runs)]
    return [t for t in tables if t is not None]


def _marked(runs) -> list[str]:
    """'`run` geneval: partial (6/553 prompts ...)' for every result that is not full-coverage, official protocol."""
    from lensbench.reports.runs import comparability

    out = []
    for r in runs:
        for rs in r.results:
            status, why = comparability(rs, r)
            if status != "full":
                out.append(f"`{r.label}` {rs.scorer}: {status}" + (f" ({why})" if why else ""))
    return out


def _index(out: Path, tables: list[Table], chart_paths: list[Path], runs, published: bool, formats: list[str]) -> str:
    if runs:
        title = "lensbench report"
        intro = [f"Runs: {', '.join(f'`{r.label}` ({r.model})' for r in runs)}."]
        marked = _marked(runs)
        if marked:
            intro.append("Not comparable with full published numbers (no difference is given for them): "
                         + "; ".join(marked) + ".")
        if published:
            intro.append("Published numbers appear in separate rows labelled with their source; they are never mixed "
                         "into a measured cell.")
    else:
        title = "Published comparison (from baselines/ alone)"
        intro = ["Every number below is a published number copied from `baselines/*.toml`, which records for each "
                 "value its source (paper and table, or URL), who measured it and the protocol notes. "
                 "Nothing here was measured by lensbench.",
                 "Regenerate with `lensbench report --published --out reports/published`; do not edit by hand."]
    lines = [f"# {title}", "", *intro, ""]
    by_name = {t.name: t for t in tables}
    for name in INLINE_TABLES:
        if name in by_name:
            lines += [to_markdown(by_name[name]), ""]
    lines += ["## All tables", ""]
    for t in tables:
        links = ", ".join(f"[{f}](tables/{t.name}.{EXTENSIONS[f]})" for f in formats)
        lines.append(f"- {t.title}: {links}")
    pngs = [p for p in chart_paths if p.suffix == ".png"]
    if pngs:
        lines += ["", "## Charts", ""]
        for p in pngs:
            rel = p.relative_to(out).as_posix()
            links = ", ".join(f"[{ext.upper()}]({Path(rel).with_suffix('.' + ext).as_posix()})" for ext in ("pdf", "svg", "png"))
            lines += [f"![{p.stem}]({rel})", f"({p.stem}: {links})", ""]
    return "\n".join(lines).rstrip() + "\n"


def build_report(run_dirs: list[str | os.PathLike], out_dir: str | os.PathLike, formats: str | list[str] = FORMATS,
                 published: bool = True, *, baselines_dir: str | os.PathLike | None = None, charts: bool = True,
                 contact_prompts: int = 6, chart_style: str = "paper", allow_partial: bool = False) -> list[Path]:
    """Write a report for `run_dirs` (may be empty: published-only report) into `out_dir`.

    published: load baselines (from `baselines_dir`, $LENSBENCH_BASELINES or the baselines shipped with lensbench) and add
    published rows, the published-vs-reproduced table and published points; with no runs, the whole report
    is built from the baselines. chart_style: "paper" (7 in wide, print fonts) or "slides". allow_partial: show
    the difference for partial / off-protocol rows in published-vs-reproduced (still marked). Returns the written
    files, sorted.
    """
    from lensbench.reports.baselines import load_baselines
    from lensbench.reports.runs import load_runs

    from lensbench.reports import style

    fmts = parse_formats(formats)
    chosen_style = style.parse_style(chart_style)
    runs = load_runs(list(run_dirs))
    if not runs and not published:
        raise UserError("nothing to report: give one or more RUN directories, or --published for the published report")
    b = load_baselines(baselines_dir) if published else None
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create report directory {out} ({exc.strerror}); pass a writable --out") from None
    tables = _tables(runs, b, allow_partial)
    paths: list[Path] = []
    for t in tables:
        paths += write_table(t, out / "tables", fmts)
    chart_paths: list[Path] = []
    if charts:
        from lensbench.reports import chart_data
        from lensbench.reports.contact import contact_sheet

        with style.use(chosen_style):
            chart_paths = (chart_data.run_charts(runs, b, out / "charts") if runs
                           else chart_data.published_charts(b, out / "charts"))
            if runs and contact_prompts > 0:
                chart_paths += contact_sheet(runs, out / "charts" / "contact_sheet", contact_prompts)
    paths += chart_paths
    index = out / "README.md"
    index.write_text(_index(out, tables, chart_paths, runs, published, fmts), encoding="utf-8", newline="\n")
    paths.append(index)
    return sorted(paths)


__all__ = ["build_report", "FORMATS", "EXTENSIONS"]
