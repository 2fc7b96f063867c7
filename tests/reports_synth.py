"""Synthetic run directories for report/gate tests: manifest.json, results/*.json (lensbench.store.results
schema), speed/measurements.csv (the speed suite's columns) and generate records with small PNGs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from lensbench.reports.runs import SPEED_COLUMNS
from lensbench.store.results import SCHEMA_VERSION, MetricValue

GENEVAL_TAGS = ("single_object", "two_object", "counting", "colors", "position", "color_attr")


def geneval_metrics(overall: float, half_width: float = 0.02, tags: dict[str, float] | None = None) -> list[MetricValue]:
    tags = tags or {t: overall for t in GENEVAL_TAGS}
    out = [MetricValue("geneval", overall, 553, overall - half_width, overall + half_width, unit="fraction")]
    out += [MetricValue("geneval", v, 90, v - 2 * half_width, v + 2 * half_width, category=t, unit="fraction")
            for t, v in tags.items()]
    return out


def coverage(scored: int = 553, total: int = 553, *, categories: tuple[str, ...] = GENEVAL_TAGS,
             backend: str = "hf-mask2former", language: str = "en", official: bool = True,
             reasons: tuple[str, ...] = ()) -> dict[str, Any]:
    """A results-JSON coverage block (contract 3 of the team rules; lensbench.store.results)."""
    return {"prompts_scored": scored, "prompts_total": total, "fraction": scored / total if total else None,
            "categories_present": list(categories), "categories_total": list(GENEVAL_TAGS), "images_per_prompt": 4,
            "language": language, "rewriter": "none", "scorer_backend": backend, "judge": None,
            "official_protocol": official and not reasons, "partial": scored < total or len(categories) < len(GENEVAL_TAGS),
            "off_protocol_reasons": list(reasons)}


FULL = object()  # make_run(coverage=FULL): a full, official-protocol coverage block


def speed_row(**kw: Any) -> dict[str, Any]:
    row = {c: "" for c in SPEED_COLUMNS}
    row.update(model="z-image", device="cuda:0 NVIDIA H100 80GB HBM3", height=1024, width=1024, megapixels=1.048576,
               steps=20, batch_size=1, dtype="bfloat16", compile="false", status="ok", n=10, latency_mean_s=3.2,
               latency_p50_s=3.1, latency_p90_s=3.4, latency_p99_s=3.6, latency_std_s=0.1, latency_min_s=3.0,
               images_per_s=0.31, megapixels_per_s=0.33, cold_s=12.0, text_encode_s=0.2, denoise_s=2.7,
               step_mean_s=0.135, vae_decode_s=0.25, rewrite_s=0.0, other_s=0.05, peak_alloc_gb=30.1,
               peak_reserved_gb=32.0, rss_gb=8.0)
    row.update(kw)
    return row


def make_run(root: Path, name: str, *, model: str = "z-image", metrics: list[MetricValue] | None = None,
             scorer: str = "geneval", speed: list[dict[str, Any]] | None = None, images: int = 0,
             params_b: float | None = 6.0, generation: dict[str, Any] | None = None,
             coverage_block: Any = None, fingerprint_id: str | None = None, suite_sha256: str | None = None,
             manifest_extra: dict[str, Any] | None = None) -> Path:
    """coverage_block: None = no coverage recorded (older runs), FULL, or a dict from `coverage()`."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    gen = {"height": 1024, "width": 1024, "steps": 50, "guidance": 4.0, "images_per_prompt": 4, "rewriter": "none"}
    gen.update(generation or {})
    manifest = {"run_id": f"id-{name}", "model": {"name": model, "params_b": params_b}, "generation": gen,
                "suite": {"name": scorer, "checksum": suite_sha256}}
    manifest.update(manifest_extra or {})
    (run / "manifest.json").write_text(json.dumps(manifest))
    if metrics is not None:
        (run / "results").mkdir(exist_ok=True)
        data = {"schema_version": SCHEMA_VERSION, "run_id": f"id-{name}", "suite": {"name": scorer}, "scorer": scorer,
                "scorer_version": "1", "settings": {}, "model": manifest["model"], "created": "2026-01-01T00:00:00",
                "metrics": [m.to_dict() for m in metrics], "extra": {}}
        if coverage_block is not None:
            data["coverage"] = coverage() if coverage_block is FULL else coverage_block
        if fingerprint_id is not None:
            data["fingerprint"] = {"backend": "test", "id": fingerprint_id}
            data["fingerprint_id"] = fingerprint_id
        (run / "results" / f"{scorer}.json").write_text(json.dumps(data))
    if speed is not None:
        (run / "speed").mkdir(exist_ok=True)
        with open(run / "speed" / "measurements.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(SPEED_COLUMNS))
            w.writeheader()
            w.writerows(speed)
    if images:
        from PIL import Image

        (run / "images").mkdir(exist_ok=True)
        (run / "records").mkdir(exist_ok=True)
        with open(run / "records" / "generate.r0.jsonl", "w") as fh:
            for i in range(images):
                rel = f"images/p{i}.png"
                Image.new("RGB", (32, 32), ((40 * i) % 256, 100, 200)).save(run / rel)
                rec = {"key": f"k{i}", "item_id": f"p{i:02d}", "index": 0, "prompt": f"a photo of thing {i}",
                       "image": rel, "status": "ok", "latency_s": 0.5 + 0.1 * i, "batch_size": 1}
                fh.write(json.dumps(rec) + "\n")
    return run
