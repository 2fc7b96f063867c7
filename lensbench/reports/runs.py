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
from lensbench.store.results import MetricValue

SPEED_CSV = Path("speed") / "measurements.csv"
#: results/<name>.json files that hold speed summaries, not quality metrics
SPEED_RESULTS = frozenset({"speed"})
SPEED_COLUMNS = (
    "model", "device", "height", "width", "megapixels", "steps", "batch_size", "dtype", "compile", "status", "n",
    "latency_mean_s", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_std_s", "latency_min_s",
    "images_per_s", "megapixels_per_s", "cold_s", "text_encode_s", "denoise_s", "step_mean_s", "vae_decode_s",
    "rewrite_s", "other_s", "peak_alloc_gb", "peak_reserved_gb", "rss_gb",
)
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
            parts.append(f"{g['width']}x{g['height']}")
        if g.get("steps"):
            parts.append(f"{g['steps']} steps")
        if g.get("guidance") is not None:
            parts.append(f"guidance {g['guidance']}")
        if g.get("images_per_prompt"):
            parts.append(f"{g['images_per_prompt']} img/prompt")
        rw = g.get("rewriter")
        if isinstance(rw, dict):  # Rewriter.identity(): {"name": ..., model/settings ...}
            extra = [f"{k}={v}" for k, v in sorted(rw.items()) if k != "name"]
            rw = (rw.get("name") or "none") + (f" ({', '.join(extra)})" if extra else "")
        parts.append(f"rewriter {rw or 'none'}")
        return ", ".join(parts)

    def metric_values(self) -> list[tuple[str, MetricValue]]:
        return [(r.scorer, m) for r in self.results for m in r.metrics]


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
        data = _read_json(p)
        try:
            metrics = [MetricValue.from_dict(m) for m in data.get("metrics", [])]
        except (TypeError, AttributeError) as exc:
            raise UserError(f"{p}: malformed metrics list ({exc}); re-run `lensbench score` for that run") from None
        results.append(ResultSet(scorer=str(data.get("scorer") or p.stem), path=p, suite=data.get("suite") or {},
                                 settings=data.get("settings") or {}, metrics=metrics))
        if not manifest.get("model") and data.get("model"):
            manifest = {**manifest, "model": data["model"]}
        if not manifest.get("run_id") and data.get("run_id"):
            manifest = {**manifest, "run_id": data["run_id"]}
    speed = read_speed_csv(run / SPEED_CSV) if (run / SPEED_CSV).exists() else []
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
