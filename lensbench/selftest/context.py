"""What every selftest check shares: the device, the output directory, the settings, and loaded generators.

Generators are loaded once per (model, dtype, offload) and reused by every check that needs them, so the
whole selftest loads each tiny model at most twice (fp32 and bf16).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: the diffusers tiny model used by the speed, memory, OOM, offload, score and torchrun checks
CORE_MODEL = "tiny"
DTYPES = ("float32", "bfloat16")
#: harness-vs-bare latency tolerance: CUDA events on a GPU are steady; a shared CPU is not (see speed.py)
OVERHEAD_TOLERANCE = {"cuda": 0.05, "cpu": 0.25}


@dataclass
class SelftestSettings:
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    out: str | None = None  # None: runs/selftest-<device>-<time>
    only: tuple[str, ...] = ()  # check groups to run (empty: all)
    images: int = 2  # images per generate check (one per prompt of the smoke suite)
    size: int = 64  # image side of the generate checks (the tiny models' default)
    speed_size_cuda: int = 256  # the speed check's side on a GPU (64 px would time only kernel launches)
    overhead_rounds: int = 4  # bare block / speed run / bare block, repeated (short rounds: drift cancels)
    overhead_calls: int = 5  # calls per block
    oom_batch: int = 16  # the batch that is made to exceed the (limited) GPU memory
    oom_size: int = 256
    torchrun_timeout_s: float = 600.0
    progress: bool = False

    def __post_init__(self) -> None:
        from lensbench.errors import UserError

        if self.oom_batch < 2 or self.oom_batch % 2:
            raise UserError(f"--oom-batch must be an even number of at least 2 (one batch over the smoke suite's 2 "
                            f"prompts), got {self.oom_batch}")

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        d["only"] = list(self.only)
        return d


@dataclass
class Context:
    settings: SelftestSettings
    device: str  # resolved: cpu | cuda | cuda:N
    out: Path
    runs: dict[str, str] = field(default_factory=dict)  # name -> run directory, for the report check
    _gens: dict[tuple[str, str, str], Any] = field(default_factory=dict)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def kind(self) -> str:
        return "cuda" if self.cuda else "cpu"

    @property
    def default_dtype(self) -> str:
        """The dtype of the speed / OOM / offload / score checks: bf16 on a GPU that computes it natively
        (fp16 on older GPUs), fp32 on CPU. The generate checks always run both fp32 and bf16."""
        if not self.cuda:
            return "float32"
        import torch

        try:
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # older torch
            native = torch.cuda.is_bf16_supported()
        return "bfloat16" if native else "float16"

    def generator(self, model: str, dtype: str, offload: str = "none"):
        """A loaded generator (cached)."""
        key = (model, dtype, offload)
        if key not in self._gens:
            from lensbench.generators import MODELS, LoadOptions, make_generator

            gen = make_generator(MODELS.get(model), LoadOptions(device=self.device, dtype=dtype, offload=offload))
            gen.load()
            self._gens[key] = gen
        return self._gens[key]

    def drop(self, model: str | None = None) -> None:
        """Unload generators (all, or one model's) to free memory before memory-sensitive checks."""
        for key in [k for k in self._gens if model is None or k[0] == model]:
            self._gens.pop(key).unload()
        free_device_memory(self.device)

    def drop_key(self, model: str, dtype: str, offload: str = "none") -> None:
        gen = self._gens.pop((model, dtype, offload), None)
        if gen is not None:
            gen.unload()
        free_device_memory(self.device)

    def path(self, *parts: str) -> Path:
        p = self.out.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def free_device_memory(device: str) -> None:
    import gc

    gc.collect()
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()


def tiny_models() -> list[tuple[str, str | None]]:
    """Every locally built model in the registry, with the reason it cannot run here (None: it can).
    A tiny build that needs a package (e.g. tiny-lens needs `lens`) is listed with that reason when the
    package is not importable."""
    from lensbench.generators import MODELS

    out = []
    for name in MODELS.names():
        spec = MODELS.get(name)
        if not spec.local_builder:
            continue
        missing = [p for p in spec.requires.packages if importlib.util.find_spec(p) is None]
        reason = None
        if missing:
            reason = f"package {', '.join(missing)} is not importable ({spec.requires.install_hint or 'install it'})"
        out.append((spec.name, reason))
    return out
