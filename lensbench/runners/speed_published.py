"""Published latencies next to ours, compared only on the same device.

Published values come from ``baselines/*.toml`` (metric ``latency_s``; read with
`lensbench.reports.baselines.load_baselines`). When that directory is not available (e.g. an installed wheel),
the small built-in table `FALLBACK` is used. A published latency is "comparable" with one of our rows when the
model, size and steps match (batch 1), the published device names one GPU, and every model token of the
published device (tokens with a digit: "H100", "3090", "80GB") appears in our device name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lensbench.errors import UserError

#: used only when baselines/ cannot be read; same facts as baselines/lens-paper.toml
FALLBACK: tuple[dict[str, Any], ...] = (
    {"model": "lens", "value": 3.15, "text": "3.15", "device": "1x NVIDIA H100", "height": 1024, "width": 1024,
     "steps": 20, "source": "arXiv 2605.21573 abstract (arXiv and HF papers pages)", "measured_by": "authors",
     "ref": "Lens paper", "note": ""},
    {"model": "lens-turbo", "value": 0.84, "text": "0.84", "device": "1x NVIDIA H100", "height": 1024, "width": 1024,
     "steps": 4, "source": "arXiv 2605.21573 abstract (arXiv and HF papers pages)", "measured_by": "authors",
     "ref": "Lens paper", "note": "no CFG"},
)


def published_latencies(model: str) -> tuple[list[dict[str, Any]], str]:
    """(published latency entries for `model`, where they came from)."""
    try:
        from lensbench.reports.baselines import load_baselines

        b = load_baselines()
    except (ImportError, UserError):
        return [dict(e) for e in FALLBACK if e["model"] == model], "built-in table (baselines/ not found)"
    name = b.resolve_model(model) or model
    out = []
    for v in b.query(model=name, metric="latency_s"):
        out.append({"model": v.model, "value": v.value, "text": v.text, "device": v.device, "height": v.height,
                    "width": v.width, "steps": v.steps, "source": v.source, "measured_by": v.measured_by,
                    "ref": v.ref, "note": v.note, "uncertain": v.uncertain, "variant": v.variant})
    return out, str(b.directory)


def gpu_count(device: str) -> int:
    m = re.search(r"(\d+)\s*[x×]\s", device.lower() + " ")
    return int(m[1]) if m else 1


def device_matches(published: str, ours: str) -> bool:
    """True when the published device is one GPU whose model tokens all appear in our device name."""
    tokens = [t for t in re.findall(r"[a-z0-9]+", published.lower()) if re.search(r"\d", t) and not re.fullmatch(r"\d+x", t)]
    return bool(tokens) and gpu_count(published) == 1 and all(t in ours.lower() for t in tokens)


def compare(model: str, device: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Published latencies for `model`, each with our matching row's p50 when the device matches."""
    published, origin = published_latencies(model)
    out = []
    for pv in published:
        match = [r for r in rows if r["status"] == "ok" and r["batch_size"] == 1
                 and (pv["height"] is None or (r["height"], r["width"]) == (pv["height"], pv["width"]))
                 and (pv["steps"] is None or r["steps"] == pv["steps"])]
        same = device_matches(pv["device"] or "", device)
        entry = {**pv, "same_device": same, "our_device": device,
                 "label": "same device" if same else f"other device (ours: {device})",
                 "our_p50_s": None, "our_row": None}
        if same and match:
            r = match[0]
            entry["our_p50_s"] = r["latency_p50_s"]
            entry["our_row"] = {k: r[k] for k in ("height", "width", "steps", "batch_size", "compile", "dtype")}
        out.append(entry)
    return {"source": origin, "entries": out}
