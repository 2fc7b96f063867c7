"""Read what reports need from run directories: manifest, aggregated results, speed measurements.

``<run>/manifest.json`` (generation settings, model), ``<run>/results/*.json`` (schema in
lensbench.store.results; its "model" section names the model) and, for speed runs,
``<run>/speed/measurements.csv`` (one row per configuration, columns in `SPEED_COLUMNS`).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lensbench.errors import UserError
from lensbench.store.results import MetricValue, read_results
from lensbench.timing.schema import SPEED_COLUMNS, SPEED_CSV
from lensbench.util.sizes import format_size

#: results/<name>.json files that hold speed summaries, not quality metrics
SPEED_RESULTS = frozenset({"speed"})
_INT_COLS = {"height", "width", "steps", "batch_size", "n"}
_STR_COLS = {"model", "device", "dtype", "status"}
STAGES = ("rewrite_s", "text_encode_s", "denoise_s", "vae_decode_s", "other_s")
STAGE_LABELS = {"rewrite_s": "prompt rewrite", "text_encode_s": "text encode", "denoise_s": "denoise",
                "vae_decode_s": "VAE decode", "other_s": "other"}


@dataclass
class ResultSet:
    scorer: str
    path: Path
    suite: dict[str, Any]
    settings: dict[str, Any]
    metrics: list[MetricValue]
    coverage: dict[str, Any] | None = None  # results JSON "coverage" block; None = unknown (older runs)
    fingerprint: dict[str, Any] | None = None
    fingerprint_id: str | None = None

    def coverage_text(self) -> str:
        """'6/553 prompts (1.1%), 1/6 categories, partial; backend hf-mask2former; lang en' (or 'coverage unknown')."""
        return coverage_text(self.coverage)


@dataclass
class RunData:
    path: Path
    run_id: str
    label: str  # unique short name in reports (the directory name)
    model: str  # model name from the manifest / results
    manifest: dict[str, Any]
    results: list[ResultSet] = field(default_factory=list)
    speed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def generation(self) -> dict[str, Any]:
        return self.manifest.get("generation") or {}

    @property
    def params_b(self) -> float | None:
        v = (self.manifest.get("model") or {}).get("params_b")
        return float(v) if isinstance(v, (int, float)) and v > 0 else None

    def protocol_text(self) -> str:
        """Our generation protocol in the words published tables use."""
        g = self.generation
        parts = []
        if g.get("height") and g.get("width"):
            parts.append(format_size(g["height"], g["width"]))
        if g.get("steps"):
            parts.append(f"{g['steps']} steps")
        if g.get("guidance") is not None:
            parts.append(f"guidance {g['guidance']}")
        if g.get("images_per_prompt"):
            parts.append(f"{g['images_per_prompt']} img/prompt")
        if (self.manifest.get("model") or {}).get("off_native"):
            parts.append("off-native size")
        rw = g.get("rewriter")
        if isinstance(rw, dict):  # Rewriter.identity(): {"name": ..., model/settings ...}
            extra = [f"{k}={v}" for k, v in sorted(rw.items()) if k != "name"]
            rw = (rw.get("name") or "none") + (f" ({', '.join(extra)})" if extra else "")
        parts.append(f"rewriter {rw or 'none'}")
        return ", ".join(parts)

    def metric_values(self) -> list[tuple[str, MetricValue]]:
        return [(r.scorer, m) for r in self.results for m in r.metrics]


def coverage_text(cov: dict[str, Any] | None) -> str:
    if not isinstance(cov, dict):
        return "coverage unknown"
    parts = []
    scored, total = cov.get("prompts_scored"), cov.get("prompts_total")
    if isinstance(scored, int):
        frac = cov.get("fraction")
        parts.append(f"{scored}/{total if total is not None else '?'} prompts"
                     + (f" ({100 * frac:.1f}%)" if isinstance(frac, (int, float)) else ""))
    present, every = cov.get("categories_present"), cov.get("categories_total")
    if isinstance(present, list) and isinstance(every, list) and every:
        parts.append(f"{len(present)}/{len(every)} categories")
    if cov.get("partial") is True:
        parts.append("partial")
    elif cov.get("partial") is None:
        parts.append("coverage unknown")
    head = ", ".join(parts) or "coverage unknown"
    extra = []
    for key, label in (("scorer_backend", "backend"), ("judge", "judge"), ("language", "lang")):
        if cov.get(key):
            extra.append(f"{label} {cov[key]}")
    if cov.get("official_protocol") is False:
        reasons = [str(r) for r in cov.get("off_protocol_reasons") or []]
        text = ", ".join(reasons)
        if len(text) > 70:  # the full list is in results/<scorer>.json and the Comparison column
            text = f"{len(reasons)} deviations: {reasons[0][:50]}…" if len(reasons) > 1 else reasons[0][:70] + "…"
        extra.append("off-protocol" + (f" ({text})" if text else ""))
    return "; ".join([head] + extra)


def comparability(result: "ResultSet | None", run: "RunData") -> tuple[str, str]:
    """('full' | 'partial' | 'off-protocol' | 'unknown', reason) of a result against a published full-benchmark
    number. Missing coverage is 'unknown', never full."""
    cov = result.coverage if result is not None else None
    if not isinstance(cov, dict) or cov.get("partial") is None:
        return "unknown", "coverage not recorded (older run: re-score it)"
    if cov.get("partial"):
        return "partial", coverage_text(cov).split(";")[0].removesuffix(", partial")
    reasons = [str(r) for r in cov.get("off_protocol_reasons") or []]
    if (run.manifest.get("model") or {}).get("off_native") and not any("off-native" in r for r in reasons):
        reasons.append("off-native size")
    if cov.get("official_protocol") is False or reasons:
        return "off-protocol", ", ".join(reasons) or "not the official protocol"
    if cov.get("official_protocol") is not True:
        return "unknown", "protocol not recorded"
    return "full", ""


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is unreadable ({exc}); re-run `lensbench score` for that run or remove the file") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a JSON object; re-run `lensbench score` for that run")
    return data


def _cast(col: str, raw: str, where: str) -> Any:
    s = (raw or "").strip()
    if col in _STR_COLS:
        return s
    if col == "compile":
        if s.lower() in ("1", "true", "yes"):
            return True
        if s.lower() in ("0", "false", "no", ""):
            return False
        raise UserError(f"{where}: compile must be true or false, got {raw!r}")
    if s == "" or s.lower() in ("nan", "none", "null"):
        return None
    try:
        v = float(s)
    except ValueError:
        raise UserError(f"{where}: column {col} must be a number, got {raw!r}") from None
    if math.isnan(v):
        return None
    return int(v) if col in _INT_COLS else v


def read_speed_csv(path: str | Path) -> list[dict[str, Any]]:
    """Typed rows of a speed measurements CSV (numbers as float/int, empty cells as None)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in SPEED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise UserError(f"{path} lacks columns {missing}; regenerate it with `lensbench speed`")
            rows = []
            for i, raw in enumerate(reader, start=2):
                row = {c: _cast(c, raw.get(c, ""), f"{path} line {i}") for c in SPEED_COLUMNS}
                if row["status"] not in ("ok", "oom", "error"):
                    raise UserError(f"{path} line {i}: status must be ok, oom or error, got {row['status']!r}")
                if row["megapixels"] is None and row["height"] and row["width"]:
                    row["megapixels"] = row["height"] * row["width"] / 1e6
                rows.append(row)
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror})") from None
    return rows


SPEED_JSONL = Path("speed") / "measurements.jsonl"
_CONFIG_KEY = ("model", "device", "height", "width", "steps", "batch_size", "dtype")


def _quantile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.quantile(np.asarray(values, dtype=float), q))


def _add_speed_context(run: Path, manifest: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Give each speed row the run's guidance (for strict pairing with quality runs) and p25/p75 of its raw
    latencies from measurements.jsonl (the IQR whiskers of the latency chart; None when not recorded)."""
    guidance = (manifest.get("generation") or {}).get("guidance")
    raw: dict[tuple, list[float]] = {}
    path = run / SPEED_JSONL
    if rows and path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line of an interrupted sweep
            vals = ((rec.get("latency") or {}).get("values") if isinstance(rec, dict) else None) or []
            if vals:
                raw[tuple(str(rec.get(k)) for k in _CONFIG_KEY)] = [float(v) for v in vals]
    for r in rows:
        r["guidance"] = float(guidance) if isinstance(guidance, (int, float)) else None
        vals = raw.get(tuple(str(r[k]) for k in _CONFIG_KEY))
        r["latency_p25_s"] = _quantile(vals, 0.25) if vals else None
        r["latency_p75_s"] = _quantile(vals, 0.75) if vals else None


def load_run(path: str | Path) -> RunData:
    run = Path(path)
    if not run.is_dir():
        raise UserError(f"run directory {run} does not exist; pass a directory made by `lensbench generate`/`speed`")
    manifest = _read_json(run / "manifest.json") if (run / "manifest.json").exists() else {}
    results = []
    res_dir = run / "results"
    for p in sorted(res_dir.glob("*.json")) if res_dir.is_dir() else []:
        if p.stem in SPEED_RESULTS:
            continue  # speed is read from the measurements CSV (latency tables, not quality tables)
        rr = read_results(p)  # the one results dataclass (lensbench.store.results)
        results.append(ResultSet(scorer=rr.scorer or p.stem, path=p, suite=rr.suite, settings=rr.settings,
                                 metrics=rr.metrics, coverage=rr.coverage, fingerprint=rr.fingerprint,
                                 fingerprint_id=rr.fingerprint_id))
        if not manifest.get("model") and rr.model:
            manifest = {**manifest, "model": rr.model}
        if not manifest.get("run_id") and rr.run_id:
            manifest = {**manifest, "run_id": rr.run_id}
    speed = read_speed_csv(run / SPEED_CSV) if (run / SPEED_CSV).exists() else []
    _add_speed_context(run, manifest, speed)
    if not manifest and not results and not speed:
        raise UserError(f"{run} holds no manifest.json, results/*.json or {SPEED_CSV}; is it a lensbench run directory?")
    model = (manifest.get("model") or {}).get("name") or (speed[0]["model"] if speed else "") or "unknown"
    return RunData(path=run, run_id=str(manifest.get("run_id") or run.name), label=run.name, model=str(model),
                   manifest=manifest, results=results, speed=speed)


def load_runs(paths: list[str | Path]) -> list[RunData]:
    runs = [load_run(p) for p in paths]
    labels: dict[str, int] = {}
    for r in runs:  # keep labels unique when two runs share a directory name
        n = labels.get(r.label, 0)
        labels[r.label] = n + 1
        if n:
            r.label = f"{r.label}#{n + 1}"
    return runs
