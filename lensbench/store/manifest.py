"""Provenance captured in every run's manifest.json. Never records secrets: no environment variables
other than CUDA_VISIBLE_DEVICES, and API keys are referred to by the variable name only."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import lensbench


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def git_info() -> dict[str, Any]:
    """Commit and dirty flag of the lensbench checkout, when it is one (a copy: callers may edit it)."""
    return dict(_git_info())


@functools.lru_cache(maxsize=1)  # two git subprocesses cost ~5 ms; the checkout does not change under a run
def _git_info() -> dict[str, Any]:
    root = Path(lensbench.__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit.stdout.strip() or None, "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


@functools.lru_cache(maxsize=1)  # reading package metadata costs ~10 ms per call; versions are fixed per process
def _package_versions() -> tuple[tuple[str, str | None], ...]:
    return tuple(_read_versions().items())


def _versions() -> dict[str, str | None]:
    return dict(_package_versions())


def _read_versions() -> dict[str, str | None]:
    from lensbench.util.identity import package_version

    return {pkg: package_version(pkg) for pkg in ("torch", "torchvision", "diffusers", "transformers", "accelerate",
                                                   "open-clip-torch", "numpy", "pillow")}


def _driver_version() -> str | None:
    try:
        r = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else None


def device_info(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {"device": device, "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    if "torch" in sys.modules or device.startswith("cuda"):
        import torch

        info["cuda_available"] = torch.cuda.is_available()
        info["cuda"] = torch.version.cuda
        if device.startswith("cuda") and torch.cuda.is_available():
            idx = torch.device(device).index or 0
            props = torch.cuda.get_device_properties(idx)
            info.update(gpu_name=props.name, gpu_memory_gb=round(props.total_memory / 2**30, 2),
                        compute_capability=f"{props.major}.{props.minor}", gpu_count=torch.cuda.device_count(),
                        driver=_driver_version())
            info["tf32_matmul"] = torch.backends.cuda.matmul.allow_tf32
            info["cudnn_benchmark"] = torch.backends.cudnn.benchmark
    info["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
    return info


def environment(device: str) -> dict[str, Any]:
    return {
        "lensbench": lensbench.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "versions": _versions(),
        **device_info(device),
    }


def command_line() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else []
