"""Tables from runs: quality with CIs, per-category breakdowns, published vs reproduced, speed, stage split.

Measured and published numbers never share a cell: published rows are separate rows whose "Provenance"
column names the document and who measured it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from lensbench.baselines import device_matches
from lensbench.reports.baselines import Baselines, PublishedValue
from lensbench.reports.metrics import METRICS, canonical_category, canonical_metric, convert_unit
from lensbench.reports.published_tables import cell as published_cell
from lensbench.reports.runs import STAGE_LABELS, STAGES, ResultSet, RunData, comparability
from lensbench.reports.tables import UNCERTAIN_NOTE, Table, fmt_ci, fmt_num, fmt_sig, fmt_signed
from lensbench.store.results import MetricValue
from lensbench.util.sizes import format_size

CI_NOTE = ("Ours: value [95% bootstrap CI] computed by lensbench from the run's per-prompt scores; a value without "
           "brackets has no CI (fewer than 2 prompts, or one prompt per tag/category: nothing to resample).")
COVERAGE_NOTE = ("Protocol: our generation settings, then the scorer's coverage (prompts scored / in the benchmark, "
                 "categories present), scorer backend and prompt language; 'coverage unknown' = the results predate "
                 "coverage records (re-score to get them), never assumed full.")
_METRIC_ORDER = {m: i for i, m in enumerate(METRICS)}


@dataclass(frozen=True)
class RunMetric:
    """A run's metric mapped onto the shared vocabulary (value in the canonical unit)."""

    run: RunData
    scorer: str
    metric: str  # canonical name, or "<scorer>:<metric>" when it has no published counterpart
    category: str | None
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    canonical: bool

    @property
    def decimals(self) -> int:
        info = METRICS.get(self.metric)
        return info.decimals if info else 3

    @property
    def display(self) -> str:
        info = METRICS.get(self.metric)
        return info.display if info else self.metric

    def text(self) -> str:
        return fmt_ci(self.value, self.ci_low, self.ci_high, self.decimals)


def result_set(run: RunData, scorer: str) -> ResultSet | None:
    return next((r for r in run.results if r.scorer == scorer), None)


def run_protocol(run: RunData, scorers: list[str]) -> str:
    """Generation protocol plus the coverage of each scorer behind the row's numbers."""
    parts = [run.protocol_text()]
    scorers = list(dict.fromkeys(scorers))
    for sc in scorers:
        rs = result_set(run, sc)
        text = rs.coverage_text() if rs is not None else "coverage unknown"
        parts.append(f"{sc}: {text}" if len(scorers) > 1 else text)
    return "; ".join(parts)


def run_metrics(run: RunData) -> list[RunMetric]:
    out = []
    for scorer, mv in run.metric_values():
        canon = canonical_metric(mv.metric)
        name = canon or f"{scorer}:{mv.metric}"
        cat = canonical_category(canon, mv.category) if canon else mv.category
        unit = METRICS[canon].unit if canon else mv.unit

        def conv(x: float | None, mv: MetricValue = mv, unit: str = unit) -> float | None:
            return convert_unit(x, mv.unit, unit)

        out.append(RunMetric(run, scorer, name, cat, conv(mv.value), conv(mv.ci_low), conv(mv.ci_high), mv.n,
                             canon is not None))
    return out


def _metric_sort(metric: str) -> tuple:
    return (_METRIC_ORDER.get(metric, len(_METRIC_ORDER)), metric)


def _cat_sort(metric: str, cat: str | None) -> tuple:
    info = METRICS.get(metric)
    if cat is None:
        return (1, 0, "")
    cats = info.categories if info else ()
    return (0, cats.index(cat) if cat in cats else len(cats), cat)


def _run_sort(b: Baselines | None, run: RunData) -> tuple:
    model = b.resolve_model(run.model) if b else None
    return (b.order(model) if (b and model) else 999, run.model, run.label)


def _display_model(b: Baselines | None, run: RunData) -> str:
    model = b.resolve_model(run.model) if b else None
    return b.display(model) if (b and model) else run.model


def _published_rows(b: Baselines, runs: list[RunData], columns: list[tuple[str, str | None]]) -> dict:
    """{(model, ref, measured_by, variant): {(metric, category): [PublishedValue]}} for the runs' models."""
    models = {b.resolve_model(r.model) for r in runs} - {None}
    colset = set(columns)
    groups: dict = defaultdict(lambda: defaultdict(list))
    for v in b.values:
        if v.model in models and (v.metric, v.category) in colset:
            groups[(v.model, v.ref, v.measured_by, v.variant)][(v.metric, v.category)].append(v)
    return groups


def _grid(name: str, title: str, runs: list[RunData], columns: list[tuple[str, str | None]], labels: list[str],
          b: Baselines | None) -> Table:
    t = Table(name, title, ["Model", "Run", "Provenance", "Protocol"] + labels, numeric=set(range(4, 4 + len(columns))))
    shown = []
    for run in sorted((r for r in runs if r.results), key=lambda r: _run_sort(b, r)):
        vals = {(m.metric, m.category): m for m in run_metrics(run)}
        if not any(c in vals for c in columns):
            continue  # a run appears only in the tables of metrics it has (and brings only their published rows)
        shown.append(run)
        used = [vals[c].scorer for c in columns if c in vals]
        t.add([_display_model(b, run), run.label, "measured (this run)", run_protocol(run, used)]
              + [vals[c].text() if c in vals else "" for c in columns],
              numbers={4 + i: (vals[c].value, vals[c].ci_low, vals[c].ci_high) for i, c in enumerate(columns) if c in vals})
    uncertain = False
    if b is not None:
        groups = _published_rows(b, shown, columns)
        for key in sorted(groups, key=lambda k: (b.order(k[0]), k[2] != "authors", k[1], k[2], k[3])):
            model, ref, measured_by, variant = key
            cells = groups[key]
            vs = [v for c in columns for v in cells.get(c, [])]
            uncertain |= any(v.uncertain for v in vs)
            proto = sorted({v.protocol_text() for v in vs} - {""})
            t.add([b.display(model) + (f" ({variant})" if variant else ""), "",
                   f"published: {ref} ({measured_by})", "; ".join(proto)]
                  + [" / ".join(published_cell(v) for v in cells.get(c, [])) for c in columns])
    t.notes += [CI_NOTE, COVERAGE_NOTE]
    if uncertain:
        t.notes.append(UNCERTAIN_NOTE)
    return t


def quality_table(runs: list[RunData], b: Baselines | None = None) -> Table | None:
    heads = sorted({m.metric for r in runs for m in run_metrics(r) if m.category is None}, key=_metric_sort)
    if not heads:
        return None
    cols = [(m, None) for m in heads]
    labels = [METRICS[m].display if m in METRICS else m.split(":", 1)[-1] for m in heads]
    return _grid("quality", "Quality (headline metrics)", runs, cols, labels, b)


def category_tables(runs: list[RunData], b: Baselines | None = None) -> list[Table]:
    by_metric: dict[str, set] = defaultdict(set)
    for r in runs:
        for m in run_metrics(r):
            if m.category is not None:
                if not m.category.startswith("prompt:"):  # per-prompt rows are not a breakdown
                    by_metric[m.metric].add(m.category)
    tables = []
    for metric in sorted(by_metric, key=_metric_sort):
        cats = sorted(by_metric[metric], key=lambda c: _cat_sort(metric, c)) + [None]
        info = METRICS.get(metric)
        labels = [info.category_label(c) if info else (c or "Overall") for c in cats]
        slug = re.sub(r"[^a-z0-9]+", "_", metric.lower()).strip("_")
        title = f"{info.display if info else metric.split(':', 1)[-1]} per category"
        tables.append(_grid(f"categories_{slug}", title, runs, [(metric, c) for c in cats], labels, b))
    return tables


def _pvr_row(b: Baselines, run: RunData, pv: PublishedValue, ours: str, ci: str, value: float | None,
             lo: float | None, hi: float | None, decimals: int, protocol: str, status: tuple[str, str],
             allow_partial: bool) -> list[str]:
    info = METRICS[pv.metric]
    point = pv.qualifier in ("", "~", "range")
    comparable = status[0] == "full" or allow_partial
    diff = fmt_signed(value - pv.value, decimals) if (value is not None and point and comparable) else ""
    if not comparable:
        outside = ""
    elif not point:
        outside = "n/a (bound)"
    elif lo is None or hi is None:
        outside = "no CI"
    else:
        outside = "yes" if (pv.value < lo or pv.value > hi) else "no"
    category = info.category_label(pv.category) if (info.categories or pv.category) else ""
    comparison = "comparable" if status[0] == "full" else f"{status[0]}: {status[1]}" if status[1] else status[0]
    return [b.display(pv.model), info.display, category, published_cell(pv), pv.ref,
            pv.measured_by, pv.protocol_text() or pv.device, ours, ci, protocol, comparison, diff, outside, run.label]


def published_vs_reproduced(runs: list[RunData], b: Baselines, *, allow_partial: bool = False) -> Table:
    """Every run metric next to every published value of the same model, metric and category. Only rows whose
    run covers the whole benchmark under the official protocol get a difference; partial, off-protocol and
    unknown-coverage rows are shown marked, without one (with `allow_partial`: with one, still marked)."""
    t = Table("published_vs_reproduced", "Published vs reproduced",
              ["Model", "Metric", "Category", "Published", "Reported in", "Measured by", "Published protocol", "Ours",
               "Our 95% CI", "Our protocol", "Comparison", "Difference (ours − published)", "Outside our CI?", "Run"],
              numeric={3, 7, 11})
    rows: list[tuple[tuple, list[str], dict]] = []
    held_back = 0
    for run in runs:
        model = b.resolve_model(run.model)
        if model is None:
            continue
        for m in run_metrics(run):
            if not m.canonical:
                continue
            status = comparability(result_set(run, m.scorer), run)
            for pv in b.query(model=model, metric=m.metric, category=m.category):
                ci = f"[{fmt_num(m.ci_low, m.decimals)}, {fmt_num(m.ci_high, m.decimals)}]" if m.ci_low is not None else ""
                row = _pvr_row(b, run, pv, fmt_num(m.value, m.decimals), ci, m.value, m.ci_low, m.ci_high,
                               m.decimals, run_protocol(run, [m.scorer]), status, allow_partial)
                held_back += status[0] != "full" and not allow_partial
                rows.append(((b.order(model), _metric_sort(m.metric), _cat_sort(m.metric, m.category),
                              not pv.by_authors, pv.ref, pv.variant, run.label), row,
                             {7: (m.value, m.ci_low, m.ci_high)}))
        for s in run.speed:
            if s["status"] != "ok" or s["latency_p50_s"] is None or (s["batch_size"] or 1) != 1:
                continue  # published latencies are per single image
            for pv in b.query(model=model, metric="latency_s"):
                if not device_matches(pv.device, s["device"]):
                    continue
                if (pv.height and (pv.height, pv.width) != (s["height"], s["width"])) or (pv.steps and pv.steps != s["steps"]):
                    continue
                proto = f"{format_size(s['height'], s['width'])}, {s['steps']} steps, batch {s['batch_size']}, p50 over {s['n']} calls"
                row = _pvr_row(b, run, pv, fmt_num(s["latency_p50_s"], 3), "", s["latency_p50_s"], None, None, 3, proto,
                               ("full", ""), allow_partial)
                rows.append(((b.order(model), _metric_sort("latency_s"), (0, 0, ""), not pv.by_authors, pv.ref,
                              pv.variant, run.label), row, {7: (s["latency_p50_s"], None, None)}))
    for _key, row, nums in sorted(rows, key=lambda kr: kr[0]):
        t.add(row, numbers=nums)
    t.notes += [
        "Difference = ours − published, in the metric's unit. 'Outside our CI?' = the published value lies outside our "
        "95% bootstrap CI. Protocols differ (rewriter, images per prompt, resolution, scorer backend): read them first.",
        "Comparison: 'comparable' = our run scored the whole benchmark under the official protocol; 'partial' "
        "(a subset of prompts or categories), 'off-protocol' (non-official scorer backend, judge, metadata, rewriter, "
        "off-native size ...) and 'unknown' (coverage not recorded) rows get no difference"
        + (" unless --allow-partial is given (it is: their differences are shown, still marked)." if allow_partial
           else "; pass --allow-partial to show it, still marked."),
        "Published latencies are compared only when the published device matches ours.",
    ]
    if held_back:
        t.notes.insert(0, f"{held_back} row(s) are partial, off-protocol or of unknown coverage and are kept out of "
                          "the differences.")
    if not t.rows:
        t.notes.insert(0, "No run metric has a published counterpart for the same model.")
    return t


def _res(s: dict) -> str:
    return format_size(s["height"], s["width"]) if s["width"] and s["height"] else ""


def _speed_sort(s: dict) -> tuple:
    return (s["model"], s["device"], s["megapixels"] or 0, s["steps"] or 0, s["batch_size"] or 0, s["dtype"],
            s["compile"], s["status"])


def speed_table(runs: list[RunData]) -> Table | None:
    rows = [(r, s) for r in runs for s in r.speed]
    if not rows:
        return None
    t = Table("speed", "Latency, throughput and memory (measured)",
              ["Model", "Device", "Resolution", "MP", "Steps", "Batch", "dtype", "Compile", "Status", "n", "p50 (s)",
               "p90 (s)", "Mean ± std (s)", "Images/s", "MP/s", "Cold (s)", "Peak alloc (GB)", "Peak reserved (GB)",
               "RSS (GB)", "Run"], numeric={3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18})
    for r, s in sorted(rows, key=lambda rs: (_speed_sort(rs[1]), rs[0].label)):
        mean_std = (f"{fmt_num(s['latency_mean_s'], 3)} ± {fmt_num(s['latency_std_s'], 3)}"
                    if s["latency_mean_s"] is not None and s["latency_std_s"] is not None else fmt_num(s["latency_mean_s"], 3))
        t.add([s["model"], s["device"], _res(s), fmt_sig(s["megapixels"]), str(s["steps"] or ""),
               str(s["batch_size"] or ""), s["dtype"], "yes" if s["compile"] else "no", s["status"], str(s["n"] or ""),
               fmt_num(s["latency_p50_s"], 3), fmt_num(s["latency_p90_s"], 3), mean_std, fmt_num(s["images_per_s"], 3),
               fmt_num(s["megapixels_per_s"], 3), fmt_num(s["cold_s"], 2), fmt_num(s["peak_alloc_gb"], 2),
               fmt_num(s["peak_reserved_gb"], 2), fmt_num(s["rss_gb"], 2), r.label])
    t.notes.append("Latency per call (a call makes `batch` images); warm calls only; the cold first call is in 'Cold'.")
    return t


def stage_table(runs: list[RunData]) -> Table | None:
    rows = [(r, s) for r in runs for s in r.speed if s["status"] == "ok" and s["denoise_s"] is not None]
    if not rows:
        return None
    t = Table("stage_split", "Where the time goes: stage split per call (measured)",
              ["Model", "Device", "Resolution", "Steps", "Batch"] + [STAGE_LABELS[s] + " (s)" for s in STAGES]
              + ["Step mean (s)", "Stages sum (s)", "Latency mean (s)", "Denoise share", "Run"],
              numeric=set(range(3, 5 + len(STAGES) + 4)))
    for r, s in sorted(rows, key=lambda rs: (_speed_sort(rs[1]), rs[0].label)):
        total = sum(s[k] or 0.0 for k in STAGES)
        share = f"{100 * (s['denoise_s'] or 0) / total:.1f}%" if total > 0 else ""
        t.add([s["model"], s["device"], _res(s), str(s["steps"] or ""), str(s["batch_size"] or "")]
              + [fmt_num(s[k], 3) for k in STAGES]
              + [fmt_num(s["step_mean_s"], 4), fmt_num(total, 3), fmt_num(s["latency_mean_s"], 3), share, r.label])
    return t
