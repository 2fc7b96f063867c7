"""Outputs of a speed run: one CSV row per configuration, raw samples as JSONL, results/speed.json, a text table.

``<run>/speed/measurements.csv`` has exactly the columns of `lensbench.timing.schema.SPEED_COLUMNS` (reports
read them with the same schema). Latencies are per pipeline call (a call makes ``batch_size`` images), warm
calls only; ``cold_s`` is the first call at that configuration; stage columns are per-call means; GB = GiB.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensbench.speed.plan import SpeedPoint
from lensbench.store.atomic import write_text_atomic
from lensbench.store.results import MetricValue
from lensbench.timing.measures import Latency, Memory
from lensbench.timing.schema import SPEED_COLUMNS as COLUMNS
from lensbench.timing.schema import SPEED_CSV as CSV_PATH
from lensbench.timing.schema import SPEED_JSONL as JSONL_PATH
from lensbench.timing.stages import StageTimes, mean_stages
from lensbench.util.sizes import SIZE_HEADER, format_size
from lensbench.util.table import align


def base_row(model: str, device: str, dtype: str, compiled: bool, p: SpeedPoint, status: str) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in COLUMNS}
    row.update(model=model, device=device, height=p.height, width=p.width, megapixels=round(p.megapixels, 6),
               steps=p.steps, batch_size=p.batch_size, dtype=dtype, compile=compiled, status=status, n=0)
    return row


def ok_row(row: dict[str, Any], p: SpeedPoint, cold: StageTimes, samples: Sequence[StageTimes], mem: Memory) -> dict[str, Any]:
    lat = Latency.from_values(s.total_s for s in samples)
    row = dict(row)
    row.update(n=lat.count, latency_mean_s=lat.mean, latency_p50_s=lat.p50, latency_p90_s=lat.p90,
               latency_p99_s=lat.p99, latency_std_s=lat.std, latency_min_s=lat.min,
               images_per_s=lat.per_second(p.batch_size), megapixels_per_s=lat.per_second(p.batch_size * p.megapixels),
               cold_s=cold.total_s, peak_alloc_gb=mem.peak_alloc_gb, peak_reserved_gb=mem.peak_reserved_gb,
               rss_gb=mem.rss_gb)
    row.update(mean_stages(samples))
    return row


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_csv(run_dir: Path, rows: Sequence[dict[str, Any]]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([_cell(r.get(c)) for c in COLUMNS])
    path = run_dir / CSV_PATH
    write_text_atomic(path, buf.getvalue())
    return path


def append_jsonl(run_dir: Path, record: dict[str, Any]) -> None:
    path = run_dir / JSONL_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def _json_default(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    return str(o)


def raw_record(row: dict[str, Any], p: SpeedPoint, *, cold: StageTimes | None = None,
               samples: Sequence[StageTimes] = (), mem: Memory | None = None, **extra: Any) -> dict[str, Any]:
    """The CSV row plus everything behind it: raw latencies, per-call stage splits (with every step), memory."""
    rec: dict[str, Any] = {**row, "label": p.label}
    if samples:
        lat = Latency.from_values(s.total_s for s in samples)
        rec["latency"] = lat.to_dict(include_values=True)
        rec["samples"] = [s.to_dict() for s in samples]
    if cold is not None:
        rec["cold"] = cold.to_dict()
    if mem is not None:
        rec["memory"] = mem.to_dict()
    rec.update(extra)
    return rec


# -- results/speed.json -------------------------------------------------------------------------------------
#: (column, metric name, unit, higher_is_better)
RESULT_METRICS = (
    ("latency_p50_s", "latency_p50_s", "s", False),
    ("latency_mean_s", "latency_mean_s", "s", False),
    ("latency_p90_s", "latency_p90_s", "s", False),
    ("cold_s", "cold_s", "s", False),
    ("peak_alloc_gb", "peak_alloc_gb", "GB", False),
    ("images_per_s", "images_per_s", "images/s", True),
)


def category(row: dict[str, Any]) -> str:
    c = f"{format_size(row['height'], row['width'])}, {row['steps']} steps, batch {row['batch_size']}"
    return c + ", compiled" if row["compile"] else c


def result_metrics(rows: Sequence[dict[str, Any]], headline: tuple[int, int, int] | None) -> list[MetricValue]:
    """One MetricValue per (ok row, metric); the row at `headline` (height, width, steps) with batch 1 also
    gives the headline values (category None)."""
    out: list[MetricValue] = []
    for r in rows:
        if r["status"] != "ok":
            continue
        is_head = headline is not None and (r["height"], r["width"], r["steps"]) == headline and r["batch_size"] == 1
        for col, metric, unit, hib in RESULT_METRICS:
            v = r.get(col)
            if v is None:
                continue
            out.append(MetricValue(metric=metric, value=float(v), n=int(r["n"]), category=category(r),
                                   higher_is_better=hib, unit=unit))
            if is_head:
                out.append(MetricValue(metric=metric, value=float(v), n=int(r["n"]), category=None,
                                       higher_is_better=hib, unit=unit))
    return out


# -- text table ---------------------------------------------------------------------------------------------
def _f(v: Any, d: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.{d}f}"


def _g(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:.3g}"


def format_table(rows: Sequence[dict[str, Any]], compiled: bool = False) -> str:
    """A readable fixed-width table: latency, throughput, stage split and memory per configuration. Columns
    that are empty in every row (e.g. GPU memory on CPU, rewrite without a rewriter) are left out."""
    head = [SIZE_HEADER, "MP", "steps", "batch", "status", "n", "p50 s", "p90 s", "mean±std s", "img/s", "MP/s",
            "cold s", "compile s", "encode s", "denoise s", "step s", "vae s", "rewrite s", "other s", "alloc GB", "RSS GB"]
    table = [head]
    for r in rows:
        ms = f"{_f(r['latency_mean_s'])}±{_f(r['latency_std_s'])}" if r["latency_mean_s"] is not None else "-"
        table.append([format_size(r["height"], r["width"]), _g(r["megapixels"]), str(r["steps"]), str(r["batch_size"]),
                      r["status"], str(r["n"]), _f(r["latency_p50_s"]), _f(r["latency_p90_s"]), ms,
                      _g(r["images_per_s"]), _g(r["megapixels_per_s"]), _f(r["cold_s"], 2),
                      _f(r.get("compile_overhead_s"), 2), _f(r["text_encode_s"]), _f(r["denoise_s"]),
                      _f(r["step_mean_s"]), _f(r["vae_decode_s"]), _f(r["rewrite_s"]), _f(r["other_s"]), _f(r["peak_alloc_gb"], 2), _f(r["rss_gb"], 2)])
    keep = [i for i in range(len(head)) if i < 6 or any(row[i] != "-" for row in table[1:])]  # drop empty stages
    table = [[row[i] for i in keep] for row in table]
    lines = align(table, numeric=range(1, len(keep)))
    if compiled:
        lines.append("compiled: cold s includes torch.compile for that shape; compile s = cold - p50 (an estimate)")
    return "\n".join(lines)


def format_published(published: dict[str, Any]) -> str:
    lines = []
    for e in published.get("entries", []):
        size = format_size(e["height"], e["width"]) if e.get("height") else "?"
        steps = f", {e['steps']} steps" if e.get("steps") else ""
        ours = (f"ours {e['our_p50_s']:.3f} s p50" if e.get("our_p50_s") is not None
                else "no matching configuration measured" if e["same_device"] else "not comparable")
        lines.append(f"published {e['text']} s at {size}{steps} on {e['device']} [{e['label']}]: {ours} "
                     f"(source: {e['source']}; measured by {e['measured_by']})")
    return "\n".join(lines)
