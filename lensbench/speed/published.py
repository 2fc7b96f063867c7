"""Published latencies next to ours, compared only on the same device.

Published values come from the baseline files shipped with the package (``lensbench/baselines/data/*.toml``,
metric ``latency_s``; `lensbench.baselines.published_latencies`). A published latency is "comparable" with one
of our rows when the model, size and steps match (batch 1) and `lensbench.baselines.device_matches` holds
(the published device is one GPU whose model tokens all appear in our device name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lensbench.baselines import device_matches, published_latencies


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


__all__ = ["compare", "device_matches"]
