"""Latency vs megapixels: one line per configuration (model, device, steps, batch, dtype, compile), p50 with
interquartile-range whiskers (from the raw latencies), one marker per device, OOM configurations marked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbench.reports import style


@dataclass
class Line:
    label: str
    xs: list[float]
    ys: list[float]
    lo: list[float] = field(default_factory=list)  # lower whisker (absolute): p25
    hi: list[float] = field(default_factory=list)  # upper whisker: p75
    oom_xs: list[float] = field(default_factory=list)
    device: str = ""


def latency_vs_megapixels_figure(lines: list[Line], published: list[Any], title: str):
    """`published`: charts.Point with x = latency, y = megapixels (same device as a measured line)."""
    import matplotlib

    with matplotlib.rc_context(style.rc()):
        s = style.current()
        fig = style.figure(1.0, 4.0 + 0.14 * (len(lines) + len(published)))
        ax = fig.subplots()
        devices = sorted({ln.device for ln in lines if ln.device})
        top = max([y for ln in lines for y in (ln.hi or ln.ys)] + [p.x for p in published] + [1e-3])
        whiskers = any(ln.lo and ln.hi for ln in lines)
        for i, ln in enumerate(lines):
            colour = f"C{i % 10}"
            yerr = None
            if ln.lo and ln.hi:
                yerr = [[max(0.0, y - lo) for y, lo in zip(ln.ys, ln.lo)], [max(0.0, hi - y) for y, hi in zip(ln.ys, ln.hi)]]
            label = ln.label + (f" · {ln.device}" if len(devices) > 1 and ln.device not in ln.label else "")
            ax.errorbar(ln.xs, ln.ys, yerr=yerr, marker=style.device_marker(devices, ln.device), ms=4, capsize=2,
                        color=colour, label=label, lw=1.2)
            if ln.oom_xs:
                ax.scatter(ln.oom_xs, [top * 1.15] * len(ln.oom_xs), marker="x", color=colour, s=40, zorder=4)
                for x in ln.oom_xs:
                    ax.annotate("OOM", (x, top * 1.15), xytext=(0, 5), textcoords="offset points", ha="center",
                                fontsize=s.small_font, color=colour)
        for p in published:  # p.x = latency, p.y = megapixels
            ax.scatter([p.y], [p.x], marker="*", s=90, facecolor="none", edgecolor="black", zorder=5,
                       label=f"{p.label} (published)")
        ax.set_xlabel("megapixels per image")
        ax.set_ylabel("latency per call, p50 (s)\n" + (style.IQR_LABEL if whiskers else "no whiskers: raw latencies "
                                                                                       "not recorded"))
        ax.set_title(title)
        ax.set_ylim(0, top * 1.3)
        ax.set_xlim(left=0)
        ax.grid(True, alpha=0.25)
        fig.legend(loc="outside lower center", ncol=1, frameon=False, fontsize=s.small_font)
        return fig


def latency_vs_megapixels(lines: list[Line], published: list[Any], base: Path, title: str) -> list[Path]:
    return style.save(latency_vs_megapixels_figure(lines, published, title), base)
