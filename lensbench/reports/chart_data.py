"""What to plot: selects chart data from published baselines and runs, then calls lensbench.reports.charts."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

from lensbench.reports import charts
from lensbench.reports.baselines import Baselines, PublishedValue
from lensbench.reports.metrics import METRICS
from lensbench.reports.run_tables import device_matches, run_metrics
from lensbench.reports.runs import STAGE_LABELS, STAGES, RunData, comparability
from lensbench.store.run_store import RunStore
from lensbench.util.sizes import format_size

DATACENTER_GPUS = ("h100", "h800", "h200", "a100", "b200")
PARETO_METRICS = ("geneval", "oneig_en")
BAR_METRICS = ("geneval", "dpg", "oneig_en")


def _prov(v: PublishedValue) -> str:
    return "published: authors" if v.by_authors else "published: independent"


def _params(b: Baselines, model: str) -> float | None:
    """The model's published parameter count (authors' value first)."""
    vals = sorted(b.query(model=model, metric="params_b", category=None), key=lambda v: (not v.by_authors, v.ref))
    return vals[0].value if vals else None


def _short_device(device: str) -> str:
    return device.replace("NVIDIA ", "").replace("1x ", "")


def published_pareto_points(b: Baselines, metric: str, models: set[str] | None = None) -> list[charts.Point]:
    """Every published latency on a datacenter GPU × every distinct published headline value of `metric`."""
    points = []
    for lat in b.query(metric="latency_s"):
        if models is not None and lat.model not in models:
            continue
        if not any(g in lat.device.lower() for g in DATACENTER_GPUS):
            continue
        quals = sorted((q for q in b.query(model=lat.model, metric=metric, category=None) if not q.variant),
                       key=lambda q: (not q.by_authors, q.ref))
        seen: set[float] = set()
        for q in quals:
            if q.value in seen:
                continue  # an independent table quoting the same number adds nothing
            seen.add(q.value)
            label = f"{b.display(lat.model)}{' +compile' if lat.compile else ''} — {q.ref}"
            note = f"{q.text} · {lat.text} s, {_short_device(lat.device)}" + (f", {lat.steps} steps" if lat.steps else "")
            points.append(charts.Point(label, lat.value, q.value, _prov(q), _params(b, lat.model), note,
                                       upper_bound=lat.qualifier == "<", uncertain=q.uncertain or lat.uncertain,
                                       model=lat.model, device=_short_device(lat.device)))
    return sorted(points, key=lambda p: (p.x, p.y, p.label))


def _published_series(b: Baselines, metric: str, models: set[str] | None, cats: list[str]) -> list[charts.BarSeries]:
    groups: dict[tuple, dict[str, PublishedValue]] = defaultdict(dict)
    for v in b.query(metric=metric):
        if v.category in cats and (models is None or v.model in models) and v.comparison:
            groups[(v.model, v.ref, v.measured_by, v.variant)][v.category] = v
    series = []
    for key in sorted(groups, key=lambda k: (b.order(k[0]), k[2] != "authors", k[1], k[3])):
        model, ref, measured_by, variant = key
        vals = groups[key]
        label = f"{b.display(model)}{f' ({variant})' if variant else ''} — published, {ref}"
        series.append(charts.BarSeries(label, {c: (v.value, None, None) for c, v in vals.items()}, published=True,
                                       uncertain=any(v.uncertain for v in vals.values()),
                                       texts={c: v.text for c, v in vals.items()}))
    return series


def published_charts(b: Baselines, out: Path) -> list[Path]:
    paths: list[Path] = []
    panels = [charts.Panel(f"{METRICS[m].display} (published)", published_pareto_points(b, m), full_range=_full_range(m))
              for m in PARETO_METRICS]
    panels = [p for p in panels if p.points]
    if panels:
        paths += charts.pareto_chart(
            panels, out / "pareto_quality_latency", "Published quality vs latency (marker area ∝ parameters)",
            caption="Latencies as published (sources: tables/speed_memory); devices and resolutions differ, so no "
                    "frontier is drawn. Marker shape = device; hatched = uncertain value.")
    for metric in BAR_METRICS:
        info = METRICS[metric]
        cats = list(info.categories)
        series = [s for s in _published_series(b, metric, None, cats) if len(s.values) == len(cats)]
        if series:
            ylabel = f"{info.display} ({info.unit})"
            paths += charts.grouped_bars(series, [(c, info.category_label(c)) for c in cats], out / f"{metric}_categories",
                                         f"{info.display} per category (published)", ylabel,
                                         caption="All bars are published values, labelled as their sources print them (no CIs "
                                                 "are published).",
                                         decimals=info.decimals)
    rows = []
    for v in sorted(b.query(metric="geneval", category=None), key=lambda v: (b.order(v.model), not v.by_authors, v.ref,
                                                                              v.variant)):
        if v.comparison:
            label = f"{b.display(v.model)}{f' ({v.variant})' if v.variant else ''} — {v.ref}"
            rows.append((label, v.value, v.text, _prov(v), v.uncertain))
    if rows:
        paths += charts.hbar_sources(rows, out / "geneval_by_source", "GenEval overall by model and source (published)",
                                     "GenEval overall", caption="One bar per published number: sources are never merged.")
    return paths


# -- runs ----------------------------------------------------------------------------------------------------
def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def paired_speed_row(run: RunData, runs: list[RunData]) -> dict | None:
    """The speed row measured under exactly this quality run's settings: same model, width, height, steps,
    guidance and dtype (batch 1 preferred). Nothing looser is paired: a 2-step speed row never stands in for a
    4-step quality run."""
    g = run.generation
    want = {"width": g.get("width"), "height": g.get("height"), "steps": g.get("steps"), "guidance": g.get("guidance"),
            "dtype": g.get("dtype")}
    if any(v is None for v in want.values()):
        return None
    rows = [s for r in runs for s in r.speed if s["model"] == run.model and s["status"] == "ok" and s["latency_p50_s"]
            and all(_same(s.get(k), v) for k, v in want.items())]
    return min(rows, key=lambda s: (s["batch_size"] or 1, s["device"])) if rows else None


def per_image_latencies(run: RunData) -> list[float]:
    """Per-image latency of every ok generation record: its recorded per-image figure, else the per-call latency
    divided by the number of images the call made (`batch_size`)."""
    out = []
    for rec in RunStore(run.path).records("generate"):
        if rec.get("status") != "ok" or rec.get("reused"):
            continue  # an image taken from the cache was not timed in this run
        per = rec.get("latency_per_image_s")
        if not isinstance(per, (int, float)):
            lat, batch = rec.get("latency_s"), rec.get("batch_size") or 1
            per = lat / batch if isinstance(lat, (int, float)) and isinstance(batch, int) and batch > 0 else None
        if isinstance(per, (int, float)) and per > 0:
            out.append(float(per))
    return out


def run_device(run: RunData) -> str:
    env = run.manifest.get("environment") or {}
    return str(env.get("gpu_name") or run.generation.get("device") or env.get("device") or "")


def run_latency(run: RunData, runs: list[RunData]) -> tuple[float, str, str] | None:
    """(latency per image, how it was obtained, device) for a quality run: the strictly paired speed row's p50
    divided by its batch size, else the median per-image latency of the run's own generation records."""
    best = paired_speed_row(run, runs)
    if best is not None:
        per_image = best["latency_p50_s"] / (best["batch_size"] or 1)
        return per_image, (f"speed p50 {format_size(best['height'], best['width'])} {best['steps']} steps, batch "
                           f"{best['batch_size']}"), str(best["device"])
    lat = per_image_latencies(run)
    if lat:
        return statistics.median(lat), "median generation latency per image", run_device(run)
    return None


def _mark(run: RunData, scorer: str) -> str:
    """' (partial)' / ' (off-protocol)' / ' (coverage unknown)' after a measured label; '' for a full run."""
    status = comparability(next((r for r in run.results if r.scorer == scorer), None), run)[0]
    return {"full": "", "unknown": " (coverage unknown)"}.get(status, f" ({status})")


def _full_range(metric: str) -> tuple[float, float] | None:
    unit = METRICS[metric].unit if metric in METRICS else ""
    return {"fraction": (0.0, 1.0), "percent": (0.0, 100.0)}.get(unit)


def run_charts(runs: list[RunData], b: Baselines | None, out: Path) -> list[Path]:
    paths: list[Path] = []
    mets = {r.label: run_metrics(r) for r in runs}
    models = {b.resolve_model(r.model) for r in runs} - {None} if b else set()
    for metric in ("geneval", "dpg", "oneig_en", "longtext_en", "cvtg_word_acc"):
        pts = []
        for r in runs:
            head = [m for m in mets[r.label] if m.metric == metric and m.category is None]
            lat = run_latency(r, runs) if head else None
            if head and lat:
                pts.append(charts.Point(f"{r.model} ({r.label}){_mark(r, head[0].scorer)}", lat[0], head[0].value,
                                        "measured", r.params_b,
                                        f"{lat[1]}, {_short_device(lat[2])}" if lat[2] else lat[1], device=lat[2],
                                        y_ci=(head[0].ci_low, head[0].ci_high)
                                        if head[0].ci_low is not None and head[0].ci_high is not None else None))
        if pts:
            if b is not None:
                pts += published_pareto_points(b, metric, models)
            paths += charts.pareto_chart([charts.Panel(METRICS[metric].display, pts, frontier=True,
                                                       full_range=_full_range(metric))],
                                         out / f"pareto_{metric}", f"{METRICS[metric].display} vs latency per image "
                                         "(marker area ∝ parameters)", caption="Measured and published points are "
                                         "drawn in different colours; marker shape = device (published latencies "
                                         "are on the devices their sources name).")
            break
    for metric in sorted({m.metric for ms in mets.values() for m in ms if m.category and m.metric in METRICS}):
        info = METRICS[metric]
        cats = [c for c in info.categories if any(m.metric == metric and m.category == c for ms in mets.values() for m in ms)]
        if not cats:
            continue
        series = []
        for r in runs:
            ms = [m for m in mets[r.label] if m.metric == metric and m.category]
            vals = {m.category: (m.value, m.ci_low, m.ci_high) for m in ms}
            if vals:
                series.append(charts.BarSeries(f"{r.model} — measured, {r.label}{_mark(r, ms[0].scorer)}", vals))
        if b is not None:
            series += _published_series(b, metric, models, cats)
        paths += charts.grouped_bars(series, [(c, info.category_label(c)) for c in cats], out / f"{metric}_categories",
                                     f"{info.display} per category", f"{info.display} ({info.unit})",
                                     caption="Whiskers: 95% bootstrap CIs of measured runs; dashed outline = "
                                             "published, labelled as printed (no CI published).", decimals=info.decimals)
    paths += _speed_charts(runs, b, out)
    return paths


def _speed_charts(runs: list[RunData], b: Baselines | None, out: Path) -> list[Path]:
    rows = [s for r in runs for s in r.speed]
    if not rows:
        return []
    paths: list[Path] = []
    lines: dict[tuple, charts.Line] = {}
    devices = sorted({s["device"] for s in rows})
    for s in sorted(rows, key=lambda s: (s["model"], s["device"], s["steps"] or 0, s["batch_size"] or 0, s["dtype"],
                                         s["compile"], s["megapixels"] or 0)):
        key = (s["model"], s["device"], s["steps"], s["batch_size"], s["dtype"], s["compile"])
        label = f"{s['model']} · {s['steps']} steps · batch {s['batch_size']} · {s['dtype']}"
        label += f" · {s['device']}" if len(devices) > 1 else ""
        ln = lines.setdefault(key, charts.Line(label + (" · compiled" if s["compile"] else ""), [], [],
                                               device=s["device"]))
        if s["status"] == "ok" and s["latency_p50_s"] is not None:
            ln.xs.append(s["megapixels"])
            ln.ys.append(s["latency_p50_s"])
            if s.get("latency_p25_s") is not None and s.get("latency_p75_s") is not None:
                ln.lo.append(s["latency_p25_s"])
                ln.hi.append(s["latency_p75_s"])
        elif s["status"] == "oom":
            ln.oom_xs.append(s["megapixels"])
    for ln in lines.values():
        if len(ln.lo) != len(ln.ys):  # whiskers for some points only would mislead: none for that line
            ln.lo, ln.hi = [], []
    published = []
    if b is not None:
        for s in rows:
            model = b.resolve_model(s["model"])
            for pv in b.query(model=model, metric="latency_s") if model else []:
                if pv.megapixels and device_matches(pv.device, s["device"]):
                    p = charts.Point(f"{b.display(model)} {pv.text} s, {pv.steps} steps ({pv.ref}, {pv.device})",
                                     pv.value, pv.megapixels, _prov(pv))
                    if p not in published:
                        published.append(p)
    title = "Latency vs megapixels (measured" + (f" on {devices[0]})" if len(devices) == 1 else "; marker = device)")
    paths += charts.latency_vs_megapixels(list(lines.values()), published, out / "latency_vs_megapixels", title)
    stage_rows = []
    for s in sorted(rows, key=lambda s: (s["model"], s["device"], s["megapixels"] or 0, s["steps"] or 0,
                                         s["batch_size"] or 0)):
        if s["status"] == "ok" and s["denoise_s"] is not None:
            label = f"{s['model']} {format_size(s['height'], s['width'])} {s['steps']} steps b{s['batch_size']}"
            label += f" · {_short_device(s['device'])}" if len(devices) > 1 else ""
            stage_rows.append((label, [s[k] or 0.0 for k in STAGES]))
    used = [i for i, _k in enumerate(STAGES) if any(r[1][i] > 0 for r in stage_rows)]
    if stage_rows and used:
        paths += charts.stage_split([(label, [v[i] for i in used]) for label, v in stage_rows],
                                    [STAGE_LABELS[STAGES[i]] for i in used], out / "stage_split",
                                    "Where the time goes (mean per call)"
                                    + (f" on {_short_device(devices[0])}" if len(devices) == 1 else ""))
    return paths
