"""A small table model with deterministic renderers: Markdown, CSV, LaTeX (booktabs), HTML, plain text.

Cells are pre-formatted strings (so every format shows the same digits); notes are printed under the table
(not in CSV). A cell may also carry its numbers (`Table.add(row, numbers={col: (value, ci_low, ci_high)})`):
the CSV then holds the value and its CI in numeric columns (``<col>``, ``<col> CI low``, ``<col> CI high``)
instead of the "0.812 [0.790, 0.833]" text. CSV is written by pandas; every renderer is deterministic, so the
committed published report regenerates byte for byte.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

from lensbench.errors import UserError
from lensbench.util.table import align

FORMATS = ("md", "csv", "latex", "html")
EXTENSIONS = {"md": "md", "csv": "csv", "latex": "tex", "html": "html", "text": "txt"}
UNCERTAIN_MARK = "†"
UNCERTAIN_NOTE = (f"{UNCERTAIN_MARK} uncertain: from a secondary source (third-party transcription or summary), "
                  "unverified, or read off a figure.")


@dataclass
class Table:
    name: str  # file stem
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)  # right-aligned column indexes
    numbers: list[dict[int, tuple]] = field(default_factory=list)  # per row: col -> (value, ci_low, ci_high)

    def add(self, row: list[str], numbers: dict[int, tuple] | None = None) -> None:
        if len(row) != len(self.columns):
            raise ValueError(f"table {self.name}: row has {len(row)} cells, expected {len(self.columns)}")
        self.rows.append([str(c) for c in row])
        while len(self.numbers) < len(self.rows) - 1:
            self.numbers.append({})
        self.numbers.append(dict(numbers or {}))

    def drop_empty_columns(self, keep: int = 1) -> "Table":
        """Remove columns (after the first `keep`) whose cells are all empty."""
        cols = [i for i in range(len(self.columns)) if i < keep or any(r[i] for r in self.rows)]
        numeric = {cols.index(i) for i in self.numeric if i in cols}
        nums = [{cols.index(i): v for i, v in n.items() if i in cols} for n in self.numbers]
        return Table(self.name, self.title, [self.columns[i] for i in cols], [[r[i] for i in cols] for r in self.rows],
                     list(self.notes), numeric, nums)


def parse_formats(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for f in (x.strip().lower() for x in items):
        if not f:
            continue
        f = {"tex": "latex", "markdown": "md", "htm": "html"}.get(f, f)
        if f not in FORMATS:
            raise UserError(f"unknown report format {f!r}; use a comma-separated list of {', '.join(FORMATS)}")
        if f not in out:
            out.append(f)
    if not out:
        raise UserError(f"no report format given; use e.g. --format {','.join(FORMATS)}")
    return out


# -- number formatting --------------------------------------------------------------------------------------
def fmt_num(value: float | None, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{decimals}f}"


def fmt_sig(value: float | None, digits: int = 3) -> str:
    """`digits` significant figures, trailing zeros kept (0.004096 -> '0.00410', 1.048576 -> '1.05')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:#.{digits}g}".rstrip(".")


def fmt_signed(value: float | None, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    s = f"{value:+.{decimals}f}"
    return "+0" + s[2:] if s.startswith("-0") and float(s) == 0 else s


def fmt_ci(value: float | None, lo: float | None, hi: float | None, decimals: int) -> str:
    """'0.812 [0.790, 0.833]' (value only when the CI is missing)."""
    v = fmt_num(value, decimals)
    if not v or lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return v
    return f"{v} [{fmt_num(lo, decimals)}, {fmt_num(hi, decimals)}]"


# -- renderers ------------------------------------------------------------------------------------------------
def _md_cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(t: Table, heading: bool = True) -> str:
    lines = [f"## {t.title}", ""] if heading else []
    lines.append("| " + " | ".join(_md_cell(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---:" if i in t.numeric else "---" for i in range(len(t.columns))) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in t.rows]
    if t.notes:
        lines += [""] + [f"- {n}" for n in t.notes]
    return "\n".join(lines) + "\n"


def _csv_number(x) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(float(x), ".6g")


def csv_frame(t: Table):
    """The table as a pandas DataFrame for CSV: columns with CIs become value / CI low / CI high numeric columns."""
    import pandas as pd

    nums = t.numbers + [{}] * (len(t.rows) - len(t.numbers))
    ci_cols = {i for n in nums for i, v in n.items() if len(v) > 1 and v[1] is not None}
    columns: list[str] = []
    for i, col in enumerate(t.columns):
        columns += [col, f"{col} CI low", f"{col} CI high"] if i in ci_cols else [col]
    rows = []
    for r, n in zip(t.rows, nums):
        row: list[str] = []
        for i, cell in enumerate(r):
            if i not in ci_cols:
                row.append(cell)
            elif i in n:
                row += [_csv_number(x) for x in (tuple(n[i]) + (None, None))[:3]]
            else:
                row += [cell, "", ""]
        rows.append(row)
    return pd.DataFrame(rows, columns=columns, dtype=object)


def to_csv(t: Table) -> str:
    if not t.rows:  # pandas writes a header-only frame the same way, but without the import cost
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(t.columns)
        return buf.getvalue()
    return csv_frame(t).to_csv(index=False, lineterminator="\n")


_LATEX_MAP = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"$\sim$", "^": r"\^{}", "<": r"$<$", ">": r"$>$", "≤": r"$\leq$", "≥": r"$\geq$", "≈": r"$\approx$",
    "†": r"\textsuperscript{\dag}", "–": "--", "—": "---", "×": r"$\times$", "²": r"$^2$", "±": r"$\pm$",
    "…": r"\ldots{}", "→": r"$\rightarrow$", "−": "-", "⚠️": "(!)", "⚠": "(!)", "❓": "(?)", "️": "",
}


def latex_escape(s: str) -> str:
    return "".join(_LATEX_MAP.get(ch, ch) for ch in s)


def to_latex(t: Table) -> str:
    spec = "".join("r" if i in t.numeric else "l" for i in range(len(t.columns)))
    lines = [f"% {t.title}", "% generated by lensbench report; needs \\usepackage{booktabs}",
             f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
             " & ".join(latex_escape(c) for c in t.columns) + r" \\", "\\midrule"]
    lines += [" & ".join(latex_escape(c) for c in r) + r" \\" for r in t.rows]
    lines += ["\\bottomrule", "\\end{tabular}"]
    if t.notes:
        lines += ["", "\\par\\footnotesize"] + [latex_escape(n) + r"\\" for n in t.notes]
    return "\n".join(lines) + "\n"


def to_html(t: Table) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in t.columns)
    body = "\n".join(
        "<tr>" + "".join(f'<td class="num">{e(c)}</td>' if i in t.numeric else f"<td>{e(c)}</td>"
                         for i, c in enumerate(r)) + "</tr>" for r in t.rows)
    notes = ("<ul class=\"notes\">\n" + "\n".join(f"<li>{e(n)}</li>" for n in t.notes) + "\n</ul>\n") if t.notes else ""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{e(t.title)}</title>\n<style>table{{border-collapse:collapse;font-family:sans-serif;font-size:13px}}"
        "th,td{border:1px solid #ccc;padding:3px 6px}th{background:#f2f2f2}td.num{text-align:right}"
        ".notes{font-family:sans-serif;font-size:12px;color:#444}</style></head><body>\n"
        f"<h2>{e(t.title)}</h2>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n"
        f"{notes}</body></html>\n"
    )


def to_text(t: Table) -> str:
    """Aligned plain text for terminals."""
    return "\n".join(align([t.columns, *t.rows], numeric=t.numeric)) + "\n"


RENDERERS = {"md": to_markdown, "csv": to_csv, "latex": to_latex, "html": to_html, "text": to_text}


def render(t: Table, fmt: str) -> str:
    return RENDERERS[fmt](t)


def write_table(t: Table, directory: Path, formats: list[str]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = directory / f"{t.name}.{EXTENSIONS[fmt]}"
        p.write_text(render(t, fmt), encoding="utf-8", newline="\n")
        paths.append(p)
    return paths
