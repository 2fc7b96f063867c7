"""The speed suite: latency, throughput and memory per (size, steps, batch), split by stage.

- `run`: `SpeedConfig`, `run_speed` (the Python API; ``lensbench speed`` calls exactly this);
- `plan`: which configurations are measured (explicit WxH sizes, presets, steps × batch);
- `output`: CSV rows (schema in `lensbench.timing.schema`), raw JSONL, results/speed.json, text tables;
- `published`: published latencies next to ours, compared only on the same device;
- `overhead`: harness overhead vs a bare pipeline call.

`lensbench.timing` is the tracker layer beneath (clocks, stage split, memory, the measurement loop).
"""
