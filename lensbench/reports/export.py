"""`lensbench export`: every number of one or more runs as one long, tidy table.

One row per run × metric × category (quality metrics from ``results/*.json``; speed rows from
``speed/measurements.csv`` with the configuration as category). Columns (`COLUMNS`): the number (value,
ci_low, ci_high as floats, n, unit), what it covers (prompts scored / total, categories, partial, official
protocol and the reasons it is not, language, rewriter, scorer backend, judge), the protocol (size, steps,
guidance, dtype, seed, threads, batch size, device), the model and weights identity, the settings hash and the
scorer fingerprint, and provenance (lensbench version, git commit, suite and its sha256, source file). pandas
builds the frame; pyarrow writes parquet. Missing coverage stays empty (unknown), never "full".
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lensbench.errors import UserError, require_module
from lensbench.reports.metrics import canonical_metric
from lensbench.reports.runs import RunData, comparability, load_runs
from lensbench.util.sizes import format_size

FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl"}
FLOAT_COLUMNS = ("value", "ci_low", "ci_high", "coverage_fraction", "guidance", "params_b")
INT_COLUMNS = ("n", "prompts_scored", "prompts_total", "images_per_prompt", "width", "height", "steps", "seed",
               "threads", "batch_size")
BOOL_COLUMNS = ("higher_is_better", "partial", "official_protocol", "off_native", "git_dirty", "uncertain")
COLUMNS = (
    "run", "run_id", "run_path", "kind", "model", "model_repo", "weights_identity", "params_b", "off_native",
    "scorer", "metric", "canonical_metric", "category", "value", "ci_low", "ci_high", "n", "unit", "higher_is_better",
    "comparison", "prompts_scored", "prompts_total", "coverage_fraction", "categories_present", "categories_total",
    "partial", "official_protocol", "off_protocol_reasons", "language", "rewriter", "scorer_backend", "judge",
    "images_per_prompt", "width", "height", "steps", "guidance", "dtype", "seed", "threads", "batch_size", "device",
    "settings_hash", "fingerprint_id", "suite", "suite_sha256", "lensbench_version", "git_commit", "git_dirty",
    "created", "source_file",
    # published rows only (kind == "published"; `lensbench export --published`): where the number comes from
    "value_text", "qualifier", "uncertain", "source", "measured_by", "reported_in", "published_protocol",
)


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def settings_hash(run: RunData) -> str | None:
    """The manifest's settings hash (the one work-item keys use); else a sha256 of the generation settings."""
    if run.manifest.get("settings_hash"):
        return str(run.manifest["settings_hash"])
    g = run.generation
    return hashlib.sha256(_canon(g).encode()).hexdigest()[:16] if g else None


def _rewriter(g: dict[str, Any]) -> str | None:
    rw = g.get("rewriter")
    if isinstance(rw, dict):
        return rw.get("name") or "none"
    return rw


def _threads(run: RunData) -> int | None:
    """generation.threads (contract 4); speed runs written before it recorded only speed.torch_threads."""
    threads = run.generation.get("threads")
    if threads is None:
        threads = (run.manifest.get("speed") or {}).get("torch_threads")
    return threads


def _run_columns(run: RunData) -> dict[str, Any]:
    g, m = run.generation, run.manifest.get("model") or {}
    env, git = run.manifest.get("environment") or {}, run.manifest.get("git") or {}
    suite = run.manifest.get("suite") or {}
    wid = m.get("weights_identity")
    return {
        "run": run.label, "run_id": run.run_id, "run_path": str(run.path), "model": run.model,
        "model_repo": m.get("repo_id") or g.get("weights"), "weights_identity": _canon(wid) if wid else None,
        "params_b": run.params_b, "off_native": m.get("off_native"), "width": g.get("width"), "height": g.get("height"),
        "steps": g.get("steps"), "guidance": g.get("guidance"), "dtype": g.get("dtype"), "seed": g.get("seed"),
        "threads": _threads(run), "batch_size": g.get("batch_size"),
        "device": env.get("gpu_name") or g.get("device") or env.get("device"),
        "images_per_prompt": g.get("images_per_prompt"), "rewriter": _rewriter(g),
        "settings_hash": settings_hash(run), "suite": suite.get("name"), "suite_sha256": suite.get("checksum"),
        "lensbench_version": run.manifest.get("lensbench_version") or env.get("lensbench"),
        "git_commit": git.get("commit"), "git_dirty": git.get("dirty"),
    }


def _coverage_columns(cov: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(cov, dict):
        return {}
    join = lambda v: ",".join(map(str, v)) if isinstance(v, list) else None  # noqa: E731
    out = {"prompts_scored": cov.get("prompts_scored"), "prompts_total": cov.get("prompts_total"),
           "coverage_fraction": cov.get("fraction"), "categories_present": join(cov.get("categories_present")),
           "categories_total": join(cov.get("categories_total")), "partial": cov.get("partial"),
           "official_protocol": cov.get("official_protocol"),
           "off_protocol_reasons": join(cov.get("off_protocol_reasons")), "scorer_backend": cov.get("scorer_backend"),
           "judge": cov.get("judge"), "language": cov.get("language")}
    for key in ("images_per_prompt", "rewriter"):
        if cov.get(key) is not None:
            out[key] = cov[key]
    return out


def tidy_rows(runs: list[RunData]) -> list[dict[str, Any]]:
    rows = []
    for run in runs:
        base = _run_columns(run)
        for rs in run.results:
            status = comparability(rs, run)[0]
            for mv in rs.metrics:
                rows.append({**base, **_coverage_columns(rs.coverage), "kind": "quality", "scorer": rs.scorer,
                             "metric": mv.metric, "canonical_metric": canonical_metric(mv.metric),
                             "category": mv.category, "value": mv.value, "ci_low": mv.ci_low, "ci_high": mv.ci_high,
                             "n": mv.n, "unit": mv.unit, "higher_is_better": mv.higher_is_better,
                             "comparison": status, "fingerprint_id": rs.fingerprint_id,
                             "created": (_created(rs.path)), "source_file": str(rs.path)})
        for s in run.speed:
            cat = f"{format_size(s['height'], s['width'])}, {s['steps']} steps, batch {s['batch_size']}" + (", compiled" if s["compile"] else "")
            for metric, unit, hib in (("latency_p50_s", "s", False), ("latency_mean_s", "s", False),
                                      ("latency_p90_s", "s", False), ("images_per_s", "images/s", True),
                                      ("peak_alloc_gb", "GB", False)):
                if s.get(metric) is None:
                    continue
                rows.append({**base, "kind": "speed", "scorer": "speed", "metric": metric, "canonical_metric": metric,
                             "category": cat, "value": s[metric], "n": s["n"], "unit": unit, "higher_is_better": hib,
                             "comparison": s["status"], "width": s["width"], "height": s["height"], "steps": s["steps"],
                             "batch_size": s["batch_size"], "dtype": s["dtype"], "device": s["device"],
                             "source_file": str(run.path / "speed" / "measurements.csv")})
    return rows


def published_rows(b) -> list[dict[str, Any]]:
    """Every published value of the baselines as a row of the same table (kind "published"), with its source,
    who measured it and its protocol; lensbench measured none of them."""
    from lensbench.reports.metrics import METRICS

    rows = []
    for v in b.values:
        info = METRICS[v.metric]
        rows.append({"kind": "published", "run": f"published: {v.ref} ({v.measured_by})", "model": v.model,
                     "metric": v.metric, "canonical_metric": v.metric, "category": v.category, "value": v.value,
                     "unit": info.unit, "higher_is_better": info.higher_is_better, "value_text": v.text,
                     "qualifier": v.qualifier or None, "uncertain": v.uncertain, "source": v.source,
                     "measured_by": v.measured_by, "reported_in": v.ref, "published_protocol": v.protocol_text() or None,
                     "device": v.device or None, "width": v.width, "height": v.height, "steps": v.steps,
                     "batch_size": v.batch_size, "dtype": v.dtype or None, "source_file": v.file})
    return rows


def _created(path: Path) -> str | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError):
        return None


def tidy_frame(runs: list[RunData], baselines=None):
    """The tidy table as a pandas DataFrame with typed columns (floats, nullable ints and booleans); with
    `baselines`, the published values follow as rows of kind "published"."""
    pd = require_module("pandas", "lensbench export", "pip install 'lensbench[reports]'")
    rows = tidy_rows(runs) + (published_rows(baselines) if baselines is not None else [])
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    for c in FLOAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    for c in INT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in BOOL_COLUMNS:
        df[c] = df[c].astype("boolean")
    for c in set(COLUMNS) - set(FLOAT_COLUMNS) - set(INT_COLUMNS) - set(BOOL_COLUMNS):
        df[c] = df[c].astype("string")
    return df


def export_runs(run_dirs: list[str | os.PathLike], out: str | os.PathLike, *, force: bool = False,
                published: bool = False, baselines_dir: str | os.PathLike | None = None) -> tuple[Path, int]:
    """Write the tidy table of `run_dirs` (and, with `published`, every published baseline value) to `out`
    (.parquet, .csv or .jsonl). Returns (path, rows)."""
    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"--out {out}: unknown format {out.suffix or '(no extension)'!r}; end it in "
                        f"{', '.join(FORMATS)}")
    if not run_dirs and not published:
        raise UserError("nothing to export: give one or more RUN directories, or --published for the baselines")
    if out.exists() and not force:
        raise UserError(f"{out} already exists; pass --force to replace it or choose another --out")
    b = None
    if published:
        from lensbench.reports.baselines import load_baselines

        b = load_baselines(baselines_dir)
    df = tidy_frame(load_runs(list(run_dirs)), b)
    if df.empty:
        raise UserError("the runs hold no results/*.json metrics and no speed measurements; score them first")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".tmp-{os.getpid()}-{out.name}")
        if fmt == "parquet":
            require_module("pyarrow", "lensbench export to parquet", "pip install 'lensbench[reports]'")
            df.to_parquet(tmp, index=False, engine="pyarrow")
        elif fmt == "csv":
            df.to_csv(tmp, index=False, lineterminator="\n")
        else:
            df.to_json(tmp, orient="records", lines=True, force_ascii=False)
        os.replace(tmp, out)
    except OSError as exc:
        raise UserError(f"cannot write {out} ({exc.strerror}); pick a writable --out") from None
    return out, len(df)
