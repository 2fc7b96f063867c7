"""The environment a selftest ran in: GPU name and memory, driver, CUDA, cuDNN, torch / diffusers / transformers /
accelerate versions, CPU model, cores and threads (on top of the run manifests' `environment`)."""

from __future__ import annotations

import os
import platform
from typing import Any


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect(device: str) -> dict[str, Any]:
    import torch

    from lensbench.store import manifest as mf

    env = mf.environment(device)
    env["cpu"] = cpu_model()
    env["torch_threads"] = torch.get_num_threads()
    env["torch_interop_threads"] = torch.get_num_interop_threads()
    env["omp_num_threads"] = os.environ.get("OMP_NUM_THREADS")
    try:
        env["cpu_affinity"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        env["cpu_affinity"] = None
    env["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gpus.append({"index": i, "name": p.name, "memory_gb": round(p.total_memory / 2**30, 2),
                         "compute_capability": f"{p.major}.{p.minor}"})
        env["bf16_supported"] = torch.cuda.is_bf16_supported()
    env["gpus"] = gpus
    env["hf_hub_offline"] = os.environ.get("HF_HUB_OFFLINE")
    return env
