"""One chart style for every lensbench chart (report and ablation): size presets, colours, markers, the meaning
of hatching, value-label format, and the writer that saves every chart as PDF, SVG and PNG.

Rules every chart follows (tests/unit/test_reports_charts.py asserts them on the figure objects):
- bars start at zero; value labels use one format per chart (`value_format`), never ``%g``;
- whiskers are 95% CIs for quality, the interquartile range for latency, and the axis label says which;
- categorical axes (languages, rewriters, ...) are plotted as markers, never joined by lines;
- latencies from different devices never share an axis unmarked: each device has its own marker, named in the
  legend;
- hatching means one thing everywhere: an *uncertain* published value (secondary source, read off a figure);
  published (not measured) values are drawn with a dashed outline and lighter fill.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from lensbench.errors import UserError

FORMATS = ("pdf", "svg", "png")  # every chart is written in all three
#: no dates, producers or version strings: the same chart gives the same bytes
METADATA = {"pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
            "svg": {"Date": None, "Creator": None}, "png": {"Software": None}}


@dataclass(frozen=True)
class ChartStyle:
    name: str
    width_in: float  # full figure width
    font_size: float
    small_font: float  # annotations, captions, legends
    dpi: int  # PNG resolution


STYLES = {
    # paper: a two-column figure (\textwidth ≈ 7 in) at print font sizes; slides: 16:9 slide width, larger text
    "paper": ChartStyle("paper", 7.0, 8.0, 6.5, 200),
    "slides": ChartStyle("slides", 11.0, 13.0, 10.0, 110),
}
DEFAULT_STYLE = "paper"

PROVENANCE_COLOURS = {  # colour per provenance class
    "measured": "#1f77b4",
    "published: authors": "#ff7f0e",
    "published: independent": "#2ca02c",
}
STAGE_COLOURS = {"prompt rewrite": "#9467bd", "text encode": "#8c564b", "denoise": "#1f77b4", "VAE decode": "#2ca02c",
                 "other": "#7f7f7f"}
UNCERTAIN_HATCH = "////"  # the only hatch any chart uses
UNCERTAIN_LABEL = "hatched: uncertain (secondary source or read off a figure)"
PUBLISHED_EDGE = {"linestyle": "--", "alpha": 0.55}  # published bars: dashed outline, lighter fill
PUBLISHED_LABEL = "dashed outline: published value (not measured by lensbench)"
DEVICE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")
CI_LABEL = "whiskers: 95% bootstrap CI"
IQR_LABEL = "whiskers: interquartile range (p25–p75)"

_current: list[ChartStyle] = []  # styles pushed by `use`; empty: $LENSBENCH_CHART_STYLE or the default


def parse_style(name: str | None) -> ChartStyle:
    key = (name or DEFAULT_STYLE).strip().lower()
    if key not in STYLES:
        raise UserError(f"unknown --chart-style {name!r}; use one of: {', '.join(STYLES)}")
    return STYLES[key]


def current() -> ChartStyle:
    """The style charts are drawn with: the innermost `use(...)`, else $LENSBENCH_CHART_STYLE (e.g. for the
    charts `lensbench ablate` writes), else paper."""
    return _current[-1] if _current else parse_style(os.environ.get("LENSBENCH_CHART_STYLE") or DEFAULT_STYLE)


@contextlib.contextmanager
def use(name: str | ChartStyle | None) -> Iterator[ChartStyle]:
    """Draw charts inside this block with the `name` preset (paper | slides)."""
    s = name if isinstance(name, ChartStyle) else parse_style(name)
    _current.append(s)
    try:
        yield s
    finally:
        _current.pop()


def rc() -> dict:
    s = current()
    return {"svg.hashsalt": "lensbench", "svg.fonttype": "path", "pdf.fonttype": 42, "font.size": s.font_size,
            "axes.titlesize": s.font_size + 1, "axes.labelsize": s.font_size, "xtick.labelsize": s.small_font + 0.5,
            "ytick.labelsize": s.small_font + 0.5, "legend.fontsize": s.small_font, "axes.spines.top": False,
            "axes.spines.right": False, "path.simplify": True, "savefig.dpi": s.dpi}


def scale(inches: float) -> float:
    """A length designed for the paper preset, scaled to the current preset's width."""
    return inches * current().width_in / STYLES["paper"].width_in


def figure(width_frac: float = 1.0, height_in: float = 3.6):
    """A Figure (no pyplot state) `width_frac` of the preset's width; height in paper inches, scaled alike."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = current()
    fig = Figure(figsize=(s.width_in * width_frac, scale(height_in)), dpi=s.dpi, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer for text extents (label placement); savefig picks the format's backend
    return fig


def wrap(text: str, width_in: float, fontsize: float | None = None) -> str:
    """Wrap a caption to about `width_in` inches of text at `fontsize`."""
    import textwrap

    fs = fontsize or current().small_font
    return textwrap.fill(text, max(20, int(width_in * 72 / (fs * 0.55))))


def value_format(decimals: int):
    """The one label format of a chart: fixed decimals (e.g. 0.914, 0.830, 93.40)."""
    return lambda v: "" if v is None else f"{v:.{decimals}f}"


def decimals_for(values: list[float]) -> int:
    """Decimals for a chart whose values are all in one unit: 3 for fractions, 2 for percents, 1 above 100."""
    top = max((abs(v) for v in values), default=1.0)
    return 3 if top <= 1.5 else (2 if top <= 100 else 1)


def device_marker(devices: list[str], device: str) -> str:
    return DEVICE_MARKERS[sorted(set(devices)).index(device) % len(DEVICE_MARKERS)] if device in devices else "o"


def save(fig, base: Path) -> list[Path]:
    """Write base.pdf, base.svg and base.png (no dates or version strings in the metadata)."""
    import matplotlib

    base.parent.mkdir(parents=True, exist_ok=True)
    meta = METADATA
    paths = []
    with matplotlib.rc_context(rc()):
        for fmt in FORMATS:
            p = base.with_suffix(f".{fmt}")
            fig.savefig(p, format=fmt, metadata=meta[fmt], dpi=current().dpi)
            paths.append(p)
    return paths


__all__ = ["ChartStyle", "STYLES", "FORMATS", "use", "current", "parse_style", "figure", "save", "rc", "wrap",
           "value_format", "decimals_for", "device_marker", "PROVENANCE_COLOURS", "STAGE_COLOURS",
           "UNCERTAIN_HATCH", "UNCERTAIN_LABEL", "PUBLISHED_EDGE", "PUBLISHED_LABEL", "CI_LABEL", "IQR_LABEL"]
