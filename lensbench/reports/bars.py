"""Bar charts: grouped per-category bars (95% CI whiskers), published values by source, stacked stage split.

Bars start at zero; value labels use one fixed-decimals format per chart; published bars have a dashed outline
and lighter fill; hatching marks an uncertain value and nothing else (see lensbench.reports.style).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from lensbench.reports import style


@dataclass
class BarSeries:
    label: str
    values: dict[str, tuple[float, float | None, float | None]]  # category -> (value, ci_low, ci_high)
    published: bool = False
    uncertain: bool = False
    texts: dict[str, str] | None = None  # category -> label as published (keeps the source's precision)


def _legend_extras(matplotlib, series: list[BarSeries]) -> list:
    out = []
    if any(s.published for s in series):
        out.append(matplotlib.patches.Patch(facecolor="#ddd", edgecolor="black", linestyle="--",
                                            label=style.PUBLISHED_LABEL))
    if any(s.uncertain for s in series):
        out.append(matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch=style.UNCERTAIN_HATCH,
                                            label=style.UNCERTAIN_LABEL))
    return out


def grouped_bars_figure(series: list[BarSeries], categories: list[tuple[str, str]], title: str, ylabel: str,
                        caption: str = "", decimals: int | None = None):
    """Bars grouped by category (categories: (key, label)); whiskers = the series' 95% CIs."""
    import matplotlib

    with matplotlib.rc_context(style.rc()):
        s = style.current()
        n = max(len(series), 1)
        width_frac = min(1.0, max(0.75, (0.6 + 0.16 * n * len(categories) + 0.4 * len(categories)) / 7.0))
        longest = max((len(x.label) for x in series), default=10)
        fig_w = s.width_in * width_frac
        ncol = max(1, min(n, int((fig_w * 72 - 20) // (longest * s.small_font * 0.55 + 40))))
        fig = style.figure(width_frac, 3.6 + 0.16 * math.ceil(n / ncol))
        ax = fig.subplots()
        width = 0.8 / n
        colours = matplotlib.colormaps["tab10"]
        fmt = style.value_format(decimals if decimals is not None else
                                 style.decimals_for([v[0] for x in series for v in x.values.values()]))
        top = 0.0
        has_any_ci = False
        for i, ser in enumerate(series):
            xs, ys, err_lo, err_hi, texts = [], [], [], [], []
            for j, (key, _label) in enumerate(categories):
                if key not in ser.values:
                    continue
                v, lo, hi = ser.values[key]
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(v)
                texts.append((ser.texts or {}).get(key) or fmt(v))
                err_lo.append(v - lo if lo is not None else 0.0)
                err_hi.append(hi - v if hi is not None else 0.0)
                top = max(top, v, hi if hi is not None else v)
            has_ci = any(err_lo) or any(err_hi)
            has_any_ci |= has_ci
            edge = {"linestyle": "--"} if ser.published else {}
            bars = ax.bar(xs, ys, width * 0.92, label=ser.label, color=colours(i % 10), edgecolor="black",
                          linewidth=0.6, hatch=style.UNCERTAIN_HATCH if ser.uncertain else None,
                          alpha=style.PUBLISHED_EDGE["alpha"] if ser.published else 0.9,
                          yerr=[err_lo, err_hi] if has_ci else None, capsize=2 if has_ci else 0,
                          error_kw={"elinewidth": 0.8}, **edge)
            if n * len(categories) <= 24:  # few bars: print the values (a zero bar is otherwise invisible)
                ax.bar_label(bars, labels=texts, fontsize=s.small_font - 1, padding=2,
                             rotation=90 if n > 3 else 0)
        ax.set_xticks(range(len(categories)), [label for _k, label in categories])
        ax.set_ylabel(ylabel + (f"\n({style.CI_LABEL})" if has_any_ci else ""))
        ax.set_ylim(0, (top or 1.0) * 1.18)
        fig.suptitle(title)
        if caption:
            ax.set_title(style.wrap(caption, fig.get_figwidth() * 0.85), fontsize=s.small_font, color="#555",
                         loc="left")
        ax.grid(True, axis="y", alpha=0.25)
        ax.set_axisbelow(True)
        handles, _labels = ax.get_legend_handles_labels()
        fig.legend(handles=handles + _legend_extras(matplotlib, series), loc="outside lower center", ncol=ncol,
                   frameon=False, fontsize=s.small_font)
        return fig


def grouped_bars(series: list[BarSeries], categories: list[tuple[str, str]], base: Path, title: str, ylabel: str,
                 caption: str = "", decimals: int | None = None) -> list[Path]:
    return style.save(grouped_bars_figure(series, categories, title, ylabel, caption, decimals), base)


def hbar_sources_figure(rows: list[tuple[str, float, str, str, bool]], title: str, xlabel: str, caption: str = ""):
    """Horizontal bars, one per (row label, value, value text, provenance, uncertain); top row first. The value
    label is the published text, so every bar shows exactly the precision its source printed."""
    import matplotlib

    with matplotlib.rc_context(style.rc()):
        s = style.current()
        fig = style.figure(1.0, 0.28 * len(rows) + 1.6)
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]
        for y, (_label, value, text, prov, unc) in zip(ys, rows):
            ax.barh(y, value, color=style.PROVENANCE_COLOURS.get(prov, "#333"), edgecolor="black", linewidth=0.5,
                    hatch=style.UNCERTAIN_HATCH if unc else None, alpha=0.6 if unc else 0.9)
            ax.annotate(text, (value, y), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=s.small_font)
        ax.set_yticks(ys, [r[0] for r in rows], fontsize=s.small_font)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        hi = max((r[1] for r in rows), default=1.0)
        ax.set_xlim(0, hi * 1.12)
        ax.set_xlabel(xlabel)
        fig.suptitle(title)
        if caption:
            ax.set_title(style.wrap(caption, fig.get_figwidth() * 0.7), fontsize=s.small_font, color="#555", loc="left")
        ax.grid(True, axis="x", alpha=0.25)
        ax.set_axisbelow(True)
        handles = [matplotlib.patches.Patch(color=c, label=k) for k, c in style.PROVENANCE_COLOURS.items()
                   if any(r[3] == k for r in rows)]
        if any(r[4] for r in rows):
            handles.append(matplotlib.patches.Patch(facecolor="white", edgecolor="black", hatch=style.UNCERTAIN_HATCH,
                                                    label=style.UNCERTAIN_LABEL))
        fig.legend(handles=handles, loc="outside lower center", ncol=2, frameon=False, fontsize=s.small_font)
        return fig


def hbar_sources(rows: list[tuple[str, float, str, str, bool]], base: Path, title: str, xlabel: str,
                 caption: str = "") -> list[Path]:
    return style.save(hbar_sources_figure(rows, title, xlabel, caption), base)


def seconds_decimals(values: list[float]) -> int:
    top = max(values, default=1.0)
    return 3 if top < 1 else (2 if top < 100 else 1)


def stage_split_figure(rows: list[tuple[str, list[float]]], stage_labels: list[str], title: str):
    """Stacked horizontal bars: one bar per configuration, one segment per stage (seconds)."""
    import matplotlib

    with matplotlib.rc_context(style.rc()):
        s = style.current()
        fig = style.figure(1.0, 0.35 * len(rows) + 1.8)
        ax = fig.subplots()
        ys = list(range(len(rows)))[::-1]
        left = [0.0] * len(rows)
        for k, stage in enumerate(stage_labels):
            widths = [r[1][k] for r in rows]
            ax.barh(ys, widths, left=left, color=style.STAGE_COLOURS.get(stage, f"C{k % 10}"), edgecolor="black",
                    linewidth=0.4, label=stage)
            left = [a + b for a, b in zip(left, widths)]
        fmt = style.value_format(seconds_decimals(left))
        for y, total in zip(ys, left):
            ax.annotate(f"{fmt(total)} s", (total, y), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=s.small_font)
        ax.set_yticks(ys, [r[0] for r in rows], fontsize=s.small_font)
        ax.set_xlabel("seconds per call (mean)")
        ax.set_xlim(0, max(left + [1e-6]) * 1.18)
        ax.set_title(title)
        ax.grid(True, axis="x", alpha=0.25)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncol=len(stage_labels), frameon=False, fontsize=s.small_font)
        return fig


def stage_split(rows: list[tuple[str, list[float]]], stage_labels: list[str], base: Path, title: str) -> list[Path]:
    return style.save(stage_split_figure(rows, stage_labels, title), base)
