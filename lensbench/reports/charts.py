"""Charts with matplotlib (Agg, no pyplot state), each saved as PNG and SVG with deterministic metadata.

The functions take plain data (see the dataclasses) so the choice of what to plot lives in
`lensbench.reports.chart_data`. Published and measured points are always drawn with different styles and
labelled as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

PROVENANCE_STYLE = {  # colour per provenance class
    "measured": "#1f77b4",
    "published: authors": "#ff7f0e",
    "published: independent": "#2ca02c",
}
STAGE_COLOURS = {"prompt rewrite": "#9467bd", "text encode": "#8c564b", "denoise": "#1f77b4", "VAE decode": "#2ca02c",
                 "other": "#7f7f7f"}
_RC = {"svg.hashsalt": "lensbench", "svg.fonttype": "path", "font.size": 9, "axes.titlesize": 10,
       "axes.spines.top": False, "axes.spines.right": False, "path.simplify": True}


@dataclass(frozen=True)
class Point:
    label: str
    x: float  # latency (s)
    y: float  # quality
    provenance: str  # a key of PROVENANCE_STYLE
    params_b: float | None = None
    note: str = ""  # second annotation line (device, settings)
    upper_bound: bool = False  # x is an upper bound ("<1 s")
    uncertain: bool = False
    model: str = ""  # points of one model at one latency are joined by a dotted line


@dataclass
class Panel:
    ylabel: str
    points: list[Point]
    frontier: bool = False  # draw the Pareto frontier over the measured points


@dataclass
class BarSeries:
    label: str
    values: dict[str, tuple[float, float | None, float | None]]  # category -> (value, ci_low, ci_high)
    published: bool = False
    uncertain: bool = False


@dataclass
class Line:
    label: str
    xs: list[float]
    ys: list[float]
    lo: list[float] = field(default_factory=list)  # lower whisker (absolute)
    hi: list[float] = field(default_factory=list)
    oom_xs: list[float] = field(default_factory=list)


def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=150, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer for text extents (label placement); savefig picks the format's backend
    return fig


def _wrap(text: str, width_in: float, fontsize: float = 7) -> str:
    """Wrap a caption to about `width_in` inches of text at `fontsize`."""
    import textwrap

    return textwrap.fill(text, max(20, int(width_in * 72 / (fontsize * 0.55))))


def save(fig, base: Path) -> list[Path]:
    """Write base.png and base.svg (no dates or version strings in the metadata)."""
    import matplotlib

    base.parent.mkdir(parents=True, exist_ok=True)
    png, svg = base.with_suffix(".png"), base.with_suffix(".svg")
    with matplotlib.rc_context(_RC):
        fig.savefig(png, format="png", metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return [png, svg]


def _size(params_b: float | None) -> float:
    return 18.0 * params_b if params_b else 30.0  # marker area ∝ parameters (points²)


def pareto_frontier(points: list[Point]) -> list[Point]:
    """Points not dominated by a faster-and-better one (lower x, higher y), sorted by x."""
    front: list[Point] = []
    for p in sorted(points, key=lambda p: (p.x, -p.y)):
        if not front or p.y > front[-1].y:
            front.append(p)
    return front


def pareto_chart(panels: list[Panel], base: Path, title: str, caption: str = "") -> list[Path]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        width_in = max(7.0, 5.6 * len(panels))
        fig = _figure(width_in, 4.8)
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, panel in zip(axes, panels):
            _pareto_panel(ax, panel)
        handles = [matplotlib.lines.Line2D([], [], ls="", marker="o", color=c, label=k)
                   for k, c in PROVENANCE_STYLE.items()
                   if any(p.provenance == k for pn in panels for p in pn.points)]
        biggest = max([p.params_b or 0 for pn in panels for p in pn.points] + [0])
        sizes = [s for s in (4, 20, 80) if biggest and s <= biggest * 1.5] or ([4] if biggest else [])
        handles += [axes[0].scatter([], [], s=_size(s), facecolor="none", edgecolor="#555", label=f"{s}B params")
                    for s in sizes]
        ncol = len(handles) if len(panels) > 1 else min(len(handles), 3)
        fig.legend(handles=handles, loc="outside lower center", ncol=ncol, frameon=False, fontsize=8,
                   labelspacing=1.2, borderpad=0.8, handletextpad=1.0, columnspacing=2.0)
        fig.suptitle(title)
        if caption:
            axes[0].set_title(_wrap(caption, width_in * 0.95 if len(panels) > 1 else width_in * 0.85), fontsize=7,
                              color="#555", loc="left")
        fig.draw_without_rendering()  # fix the layout, then place labels where they do not collide
        for ax, panel in zip(axes, panels):
            place_labels(fig, ax, [(p.x, p.y, p.label + (f"\n{p.note}" if p.note else ""), _size(p.params_b))
                                   for p in panel.points])
        return save(fig, base)


_CANDIDATES = ((1, 0, "left", "center"), (0, 1, "center", "bottom"), (0, -1, "center", "top"),
               (-1, 0, "right", "center"), (1, 1, "left", "bottom"), (1, -1, "left", "top"),
               (-1, 1, "right", "bottom"), (-1, -1, "right", "top"))


def place_labels(fig, ax, items: list[tuple[float, float, str, float]], fontsize: float = 7) -> None:
    """Annotate (x, y, text, marker area) points, trying 8 positions per label so that labels avoid each
    other, the markers and the axes border (first position wins when none is free)."""
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72.0
    axbox = ax.get_window_extent(renderer)
    occupied = []
    for x, y, _t, area in items:
        px, py = ax.transData.transform((x, y))
        r = math.sqrt(area) / 2 * scale
        occupied.append(Bbox([[px - r, py - r], [px + r, py + r]]))
    for x, y, text, area in sorted(items, key=lambda it: (-it[1], it[0])):
        gap = math.sqrt(area) / 2 + 3
        best = None
        for dx, dy, ha, va in _CANDIDATES:
            ann = ax.annotate(text, (x, y), xytext=(dx * gap, dy * gap), textcoords="offset points", ha=ha, va=va,
                              fontsize=fontsize, zorder=4, annotation_clip=False)
            ann.set_in_layout(False)
            bb = ann.get_window_extent(renderer).expanded(1.03, 1.08)
            inside = axbox.x0 <= bb.x0 and bb.x1 <= axbox.x1 and axbox.y0 <= bb.y0 and bb.y1 <= axbox.y1
            if inside and not any(bb.overlaps(o) for o in occupied):
                best = (ann, bb)
                break
            ann.remove()
        if best is None:  # nothing free: fall back to the right-hand position
            dx, dy, ha, va = _CANDIDATES[0]
            ann = ax.annotate(text, (x, y), xytext=(dx * gap, dy * gap), textcoords="offset points", ha=ha, va=va,
                              fontsize=fontsize, zorder=4, annotation_clip=False)
            ann.set_in_layout(False)
            best = (ann, ann.get_window_extent(renderer))
        occupied.append(best[1])


def _log_ticks(ax, lo: float, hi: float) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ticks = [t * 10.0 ** e for e in range(-3, 4) for t in (1, 2, 5) if lo <= t * 10.0 ** e <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])


def _pareto_panel(ax, panel: Panel) -> None:
    pts = panel.points
    ax.set_xscale("log")
    ax.set_xlabel("latency per image (s, log scale)")
    ax.set_ylabel(panel.ylabel)
    ax.grid(True, which="major", alpha=0.25)
    by_xlabel: dict[tuple, list[Point]] = {}
    for p in pts:
        by_xlabel.setdefault((p.x, p.model or p.label), []).append(p)
    for group in by_xlabel.values():  # same model, same latency, different sources: join them
        if len(group) > 1:
            ys = [p.y for p in group]
            ax.plot([group[0].x] * 2, [min(ys), max(ys)], ls=":", color="#888", lw=1, zorder=1)
    for p in pts:
        colour = PROVENANCE_STYLE.get(p.provenance, "#333")
        ax.scatter([p.x], [p.y], s=_size(p.params_b), color=colour, alpha=0.55 if p.uncertain else 0.85,
                   edgecolor="black", linewidth=0.6, hatch="////" if p.uncertain else None, zorder=3)
        if p.upper_bound:
            ax.annotate("", xy=(p.x / 1.6, p.y), xytext=(p.x, p.y),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.2}, zorder=2)
    if panel.frontier:
        front = pareto_frontier([p for p in pts if p.provenance == "measured"])
        if len(front) > 1:
            ax.step([p.x for p in front], [p.y for p in front], where="post", ls="--", color="#1f77b4", lw=1,
                    label="Pareto frontier (measured)", zorder=2)
    if pts:
        xs, ys = [p.x for p in pts], [p.y for p in pts]
        lo, hi = min(xs) / 3.0, max(xs) * 6.0  # room for labels
        ax.set_xlim(lo, hi)
        _log_ticks(ax, lo, hi)
        pad = max(0.02, (max(ys) - min(ys)) * 0.25)
        ax.set_ylim(min(ys) - pad, max(ys) + pad)


def grouped_bars(series: list[BarSeries], categories: list[tuple[str, str]], base: Path, title: str, ylabel: str,
                 caption: str = "") -> list[Path]:
    """Bars grouped by category; error bars from CIs; published series hatched. categories: (key, label)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        n = max(len(series), 1)
        width_in = max(7.0, 1.0 + 0.18 * n * len(categories) + 0.5 * len(categories))
        longest = max((len(s.label) for s in series), default=10)
        ncol = max(1, min(n, int((width_in * 72 - 20) // (longest * 4.0 + 40))))
        fig = _figure(width_in, 4.0 + 0.16 * math.ceil(n / ncol))
        ax = fig.subplots()
        width = 0.8 / n
        colours = matplotlib.colormaps["tab10"]
        for i, s in enumerate(series):
            xs, ys, err_lo, err_hi = [], [], [], []
            for j, (key, _label) in enumerate(categories):
                if key not in s.values:
                    continue
                v, lo, hi = s.values[key]
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v)
                err_lo.append(v - lo if lo is not None else 0.0)
                err_hi.append(hi - v if hi is not None else 0.0)
            has_ci = any(err_lo) or any(err_hi)
            bars = ax.bar(xs, ys, width * 0.92, label=s.label, color=colours(i % 10), edgecolor="black", linewidth=0.5,
                   hatch="///" if s.published else None, alpha=0.6 if s.published else 0.9,
                   yerr=[err_lo, err_hi] if has_ci else None, capsize=2 if has_ci else 0,
                   error_kw={"elinewidth": 0.8})
            if n * len(categories) <= 24:  # few bars: print the values (a zero bar is otherwise invisible)
                ax.bar_label(bars, fmt="%.3g", fontsize=6, padding=2)
        ax.set_xticks(range(len(categories)), [label for _k, label in categories])
        ax.set_ylabel(ylabel)
        fig.suptitle(title)
        if caption:
            ax.set_title(_wrap(caption, width_in * 0.85), fontsize=7, color="#555", loc="left")
        ax.grid(True, axis="y", alpha=0.25)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncol=ncol, frameon=False, fontsize=7)
        return save(fig, base)


def hbar_sources(rows: list[tuple[str, float, str, str, bool]], base: Path, title: str, xlabel: str,
                 caption: str = "") -> list[Path]:
    """Horizontal bars, one per (row label, value, value text, provenance, uncertain); top row first."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(7.5, 0.28 * len(rows) + 1.6)
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]
        for y, (label, value, text, prov, unc) in zip(ys, rows):
            ax.barh(y, value, color=PROVENANCE_STYLE.get(prov, "#333"), edgecolor="black", linewidth=0.5,
                    hatch="////" if unc else None, alpha=0.6 if unc else 0.9)
            ax.annotate(text, (value, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
        ax.set_yticks(ys, [r[0] for r in rows], fontsize=7)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        lo = min((r[1] for r in rows), default=0.0)
        hi = max((r[1] for r in rows), default=1.0)
        ax.set_xlim(max(0.0, lo - (hi - lo) * 0.6 - 0.02), hi + (hi - lo) * 0.15 + 0.01)
        ax.set_xlabel(xlabel)
        fig.suptitle(title)
        if caption:
            ax.set_title(_wrap(caption, 5.0), fontsize=7, color="#555", loc="left")
        ax.grid(True, axis="x", alpha=0.25)
        ax.set_axisbelow(True)
        handles = [matplotlib.patches.Patch(color=c, label=k) for k, c in PROVENANCE_STYLE.items()
                   if any(r[3] == k for r in rows)]
        handles.append(matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch="////",
                                                label="uncertain (secondary source)"))
        fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False, fontsize=7)
        return save(fig, base)


def latency_vs_megapixels(lines: list[Line], published: list[Point], base: Path, title: str) -> list[Path]:
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 4.2 + 0.14 * (len(lines) + len(published)))
        ax = fig.subplots()
        top = max([y for ln in lines for y in (ln.hi or ln.ys)] + [p.x for p in published] + [1e-3])
        for i, ln in enumerate(lines):
            colour = f"C{i % 10}"
            yerr = None
            if ln.lo and ln.hi:
                yerr = [[y - lo for y, lo in zip(ln.ys, ln.lo)], [hi - y for y, hi in zip(ln.ys, ln.hi)]]
            ax.errorbar(ln.xs, ln.ys, yerr=yerr, marker="o", ms=4, capsize=2, color=colour, label=ln.label, lw=1.2)
            if ln.oom_xs:
                ax.scatter(ln.oom_xs, [top * 1.15] * len(ln.oom_xs), marker="x", color=colour, s=40, zorder=4)
                for x in ln.oom_xs:
                    ax.annotate("OOM", (x, top * 1.15), xytext=(0, 5), textcoords="offset points", ha="center",
                                fontsize=7, color=colour)
        for p in published:  # p.x = latency, p.y = megapixels
            ax.scatter([p.y], [p.x], marker="*", s=90, facecolor="none", edgecolor="black", zorder=5,
                       label=f"{p.label} (published)")
        ax.set_xlabel("megapixels per image")
        ax.set_ylabel("latency per call, p50 (s); whiskers min–p90")
        ax.set_title(title)
        ax.set_ylim(0, top * 1.3)
        ax.grid(True, alpha=0.25)
        fig.legend(loc="outside lower center", ncol=1, frameon=False, fontsize=7)
        return save(fig, base)


def stage_split(rows: list[tuple[str, list[float]]], stage_labels: list[str], base: Path, title: str) -> list[Path]:
    """Stacked horizontal bars: one bar per configuration, one segment per stage (seconds)."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 0.35 * len(rows) + 1.8)
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]
        left = [0.0] * len(rows)
        for k, stage in enumerate(stage_labels):
            widths = [r[1][k] for r in rows]
            ax.barh(ys, widths, left=left, color=STAGE_COLOURS.get(stage, f"C{k % 10}"), edgecolor="black",
                    linewidth=0.4, label=stage)
            left = [a + b for a, b in zip(left, widths)]
        for y, total in zip(ys, left):
            ax.annotate(f"{total:.3g} s", (total, y), xytext=(3, 0), textcoords="offset points", va="center", fontsize=7)
        ax.set_yticks(ys, [r[0] for r in rows], fontsize=7)
        ax.set_xlabel("seconds per call (mean)")
        ax.set_xlim(0, max(left + [1e-6]) * 1.15)
        ax.set_title(title)
        ax.grid(True, axis="x", alpha=0.25)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncol=len(stage_labels), frameon=False, fontsize=7)
        return save(fig, base)

