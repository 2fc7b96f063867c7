"""Quality-vs-latency (Pareto) charts, plus re-exports of the other chart kinds.

The functions take plain data (see the dataclasses) so the choice of what to plot lives in
`lensbench.reports.chart_data`; the look (sizes, colours, markers, hatching, value labels, PDF/SVG/PNG) lives in
`lensbench.reports.style`. Every chart has a `*_figure` builder that returns the matplotlib Figure (tests assert
the chart rules on it) and a writer that saves it. Published and measured points always differ in colour and are
labelled as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from lensbench.reports import style
from lensbench.reports.bars import BarSeries, grouped_bars, grouped_bars_figure, hbar_sources, hbar_sources_figure, \
    stage_split, stage_split_figure
from lensbench.reports.latency_chart import Line, latency_vs_megapixels, latency_vs_megapixels_figure
from lensbench.reports.style import PROVENANCE_COLOURS as PROVENANCE_STYLE  # noqa: F401 (kept for callers)
from lensbench.reports.style import save


@dataclass(frozen=True)
class Point:
    label: str
    x: float  # latency per image (s)
    y: float  # quality
    provenance: str  # a key of style.PROVENANCE_COLOURS
    params_b: float | None = None
    note: str = ""  # second annotation line (device, settings)
    upper_bound: bool = False  # x is an upper bound ("<1 s")
    uncertain: bool = False
    model: str = ""  # points of one model at one latency are joined by a dotted line
    device: str = ""  # the device the latency was measured on: one marker per device
    y_ci: tuple[float, float] | None = None  # 95% CI of the quality value (measured points), drawn as a whisker


@dataclass
class Panel:
    ylabel: str
    points: list[Point]
    frontier: bool = False  # draw the Pareto frontier over the measured points
    full_range: tuple[float, float] | None = None  # the metric's natural range, e.g. (0, 1) for a fraction


def _size(params_b: float | None) -> float:
    return 18.0 * params_b if params_b else 30.0  # marker area ∝ parameters (points²)


def pareto_frontier(points: list[Point]) -> list[Point]:
    """Points not dominated by a faster-and-better one (lower x, higher y), sorted by x."""
    front: list[Point] = []
    for p in sorted(points, key=lambda p: (p.x, -p.y)):
        if not front or p.y > front[-1].y:
            front.append(p)
    return front


def _devices(panels: list[Panel]) -> list[str]:
    return sorted({p.device for pn in panels for p in pn.points if p.device})


def pareto_figure(panels: list[Panel], title: str, caption: str = ""):
    import matplotlib

    with matplotlib.rc_context(style.rc()):
        s = style.current()
        # panels stack vertically: each keeps the full width its point labels need
        fig = style.figure(1.0 if len(panels) > 1 else 0.75, 3.9 * len(panels) + 0.9)
        axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
        devices = _devices(panels)
        for ax, panel in zip(axes, panels):
            _pareto_panel(ax, panel, devices)
        handles = [matplotlib.lines.Line2D([], [], ls="", marker="o", color=c, label=k)
                   for k, c in PROVENANCE_STYLE.items() if any(p.provenance == k for pn in panels for p in pn.points)]
        if len(devices) > 1:
            handles += [matplotlib.lines.Line2D([], [], ls="", marker=style.device_marker(devices, d), color="#555",
                                                markerfacecolor="none", label=f"device: {d}") for d in devices]
        if any(p.uncertain for pn in panels for p in pn.points):
            handles.append(matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch=style.UNCERTAIN_HATCH,
                                                    label=style.UNCERTAIN_LABEL))
        biggest = max([p.params_b or 0 for pn in panels for p in pn.points] + [0])
        sizes = [v for v in (4, 20, 80) if biggest and v <= biggest * 1.5] or ([4] if biggest else [])
        handles += [axes[0].scatter([], [], s=_size(v), facecolor="none", edgecolor="#555", label=f"{v}B params")
                    for v in sizes]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3 if len(panels) > 1 else 2), frameon=False,
                   fontsize=s.small_font, labelspacing=1.2, borderpad=0.8, handletextpad=1.0, columnspacing=2.0)
        fig.suptitle(title)
        if caption:
            width = fig.get_figwidth()
            axes[0].set_title(style.wrap(caption, width * 0.85), fontsize=s.small_font, color="#555", loc="left")
        fig.draw_without_rendering()  # fix the layout, then place labels where they do not collide
        for ax, panel in zip(axes, panels):
            place_labels(fig, ax, [(p.x, p.y, p.label + (f"\n{p.note}" if p.note else ""), _size(p.params_b))
                                   for p in panel.points], fontsize=s.small_font)
        return fig


def pareto_chart(panels: list[Panel], base: Path, title: str, caption: str = "") -> list[Path]:
    return save(pareto_figure(panels, title, caption), base)


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

    ticks = [t * 10.0 ** e for e in range(-4, 5) for t in (1, 2, 5) if lo <= t * 10.0 ** e <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])


def y_limits(ys: list[float], full_range: tuple[float, float] | None) -> tuple[float, float]:
    """A y range that shows at least a quarter of the metric's natural range for a single value (so one point
    does not sit in a ±0.02 window that makes noise look like signal) and a tenth for several, clipped to it."""
    lo, hi = min(ys), max(ys)
    if full_range is None:
        pad = max(0.02, (hi - lo) * 0.25, abs(hi) * 0.05)
        return lo - pad, hi + pad
    f_lo, f_hi = full_range
    full = f_hi - f_lo
    min_span = (0.25 if hi - lo < 1e-9 else 0.10) * full
    pad = max((hi - lo) * 0.2, 0.02 * full)
    a, b = lo - pad, hi + pad
    if b - a < min_span:
        mid = (a + b) / 2
        a, b = mid - min_span / 2, mid + min_span / 2
    if a < f_lo:
        a, b = f_lo, min(f_hi, b + (f_lo - a))
    if b > f_hi:
        a, b = max(f_lo, a - (b - f_hi)), f_hi
    return a, b


def _pareto_panel(ax, panel: Panel, devices: list[str]) -> None:
    pts = panel.points
    ax.set_xscale("log")
    ax.set_xlabel("latency per image (s, log scale)")
    ax.set_ylabel(panel.ylabel + (f"\n({style.CI_LABEL})" if any(p.y_ci for p in pts) else ""))
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
                   marker=style.device_marker(devices, p.device), edgecolor="black", linewidth=0.6,
                   hatch=style.UNCERTAIN_HATCH if p.uncertain else None, zorder=3)
        if p.y_ci is not None:
            ax.errorbar([p.x], [p.y], yerr=[[max(0.0, p.y - p.y_ci[0])], [max(0.0, p.y_ci[1] - p.y)]], fmt="none",
                        ecolor=colour, elinewidth=0.9, capsize=2, zorder=2)
        if p.upper_bound:
            ax.annotate("", xy=(p.x / 1.6, p.y), xytext=(p.x, p.y),
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 1.2}, zorder=2)
    if panel.frontier:
        front = pareto_frontier([p for p in pts if p.provenance == "measured"])
        if len(front) > 1:
            ax.step([p.x for p in front], [p.y for p in front], where="post", ls="--", color="#1f77b4", lw=1,
                    label="Pareto frontier (measured)", zorder=2)
    if pts:
        xs = [p.x for p in pts]
        ys = [p.y for p in pts] + [v for p in pts if p.y_ci for v in p.y_ci]
        lo, hi = min(xs) / 3.0, max(xs) * 6.0  # at least ~1.3 decades, and room for labels
        ax.set_xlim(lo, hi)
        _log_ticks(ax, lo, hi)
        ax.set_ylim(*y_limits(ys, panel.full_range))


__all__ = ["Point", "Panel", "BarSeries", "Line", "pareto_chart", "pareto_figure", "pareto_frontier", "place_labels",
           "grouped_bars", "grouped_bars_figure", "hbar_sources", "hbar_sources_figure", "stage_split",
           "stage_split_figure", "latency_vs_megapixels", "latency_vs_megapixels_figure", "save", "y_limits"]
