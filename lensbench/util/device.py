"""The one device policy and the one out-of-memory test.

Policy (`resolve_device`): ``auto`` (or empty / None) means ``cuda`` when torch sees a GPU, else ``cpu``; an
explicit ``cuda``/``cuda:N`` must exist (a one-line UserError otherwise, never a silent fall-back to CPU);
``cpu`` and ``mps`` pass through; anything else is an error. Generators, scorers and rewriters all use it.
"""

from __future__ import annotations

import sys

from lensbench.errors import UserError


def resolve_device(device: str | None) -> str:
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    device = str(device)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device} was requested but CUDA is not available here "
                        "(torch.cuda.is_available() is False); use --device cpu or run on a GPU machine")
    if device not in ("cpu", "mps") and not device.startswith("cuda"):
        raise UserError(f"unknown --device {device!r}; use auto, cpu, cuda or cuda:N")
    return device


def is_oom(exc: BaseException) -> bool:
    """torch.cuda.OutOfMemoryError, or a RuntimeError/MemoryError saying "out of memory" (older torch, MPS,
    cuBLAS). Does not import torch: if torch was never imported, nothing can have run out of GPU memory."""
    torch = sys.modules.get("torch")
    oom_cls = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch is not None else None
    if oom_cls is not None and isinstance(exc, oom_cls):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and "out of memory" in str(exc).lower()
