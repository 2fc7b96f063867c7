"""The speed measurements schema: where a speed run writes its rows and the 29 CSV columns, in order.

``<run>/speed/measurements.csv`` has exactly `SPEED_COLUMNS` (written by `lensbench.speed.output`, read by
`lensbench.reports.runs`). Latencies are per pipeline call (a call makes ``batch_size`` images), warm calls
only; ``cold_s`` is the first call at that configuration; stage columns are per-call means; GB = GiB.
"""

from __future__ import annotations

from pathlib import Path

SPEED_COLUMNS = (
    "model", "device", "height", "width", "megapixels", "steps", "batch_size", "dtype", "compile", "status", "n",
    "latency_mean_s", "latency_p50_s", "latency_p90_s", "latency_p99_s", "latency_std_s", "latency_min_s",
    "images_per_s", "megapixels_per_s", "cold_s", "text_encode_s", "denoise_s", "step_mean_s", "vae_decode_s",
    "rewrite_s", "other_s", "peak_alloc_gb", "peak_reserved_gb", "rss_gb",
)
SPEED_CSV = Path("speed") / "measurements.csv"
SPEED_JSONL = Path("speed") / "measurements.jsonl"
