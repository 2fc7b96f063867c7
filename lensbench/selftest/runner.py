"""`run_selftest`: every check group in order on one device, then selftest.json. The CLI calls exactly this.

Order matters only for sharing: the generate checks leave the core tiny model loaded (fp32 and bf16) and record
their run directories, which the score, speed, offload (reference images) and report checks reuse.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lensbench
from lensbench.errors import UserError
from lensbench.selftest import cuda, images, pipeline, speed
from lensbench.selftest.context import DTYPES, OVERHEAD_TOLERANCE, Context, SelftestSettings, tiny_models
from lensbench.selftest.result import CheckResult, counts, exit_code
from lensbench.util.env import temporary_env

SCHEMA_VERSION = 1
#: check group -> function(ctx) -> results, in run order (docs/selftest.md lists the check names of each)
GROUPS: dict[str, Callable[[Context], list[CheckResult]]] = {
    "images": images.run,
    "score": pipeline.run_score_group,
    "speed": speed.run,
    "oom": cuda.run_oom,
    "offload": cuda.run_offload,
    "torchrun": cuda.run_torchrun,
    "report": pipeline.run_report_group,
}
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def offline():
    """Nothing the selftest does may download: the hub libraries are told so (restored afterwards)."""
    return temporary_env({v: "1" for v in OFFLINE_VARS})


def default_out(device: str) -> str:
    return f"runs/selftest-{device.replace(':', '')}-{time.strftime('%Y%m%d-%H%M%S')}"


def select_groups(only: tuple[str, ...]) -> list[str]:
    unknown = [g for g in only if g not in GROUPS]
    if unknown:
        raise UserError(f"unknown selftest check group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    return [g for g in GROUPS if not only or g in only]


def run_selftest(settings: SelftestSettings, *, on_result: Callable[[CheckResult], None] | None = None,
                 on_start: Callable[[str, Path], None] | None = None) -> dict[str, Any]:
    """Run the selected checks; returns the selftest.json document (also written to `<out>/selftest.json`).
    `on_start(device, out)` is called once the inputs are valid, `on_result` after each check."""
    with offline():
        from lensbench.generators.loading import resolve_device
        from lensbench.selftest import environment
        from lensbench.store import manifest as mf

        from lensbench.dist import DistContext

        if DistContext.from_env().world_size > 1:
            raise UserError("run lensbench selftest as one process, without torchrun: it launches its own 2-process "
                            "torchrun check when 2 or more GPUs are visible")
        groups = select_groups(tuple(settings.only))
        device = resolve_device(settings.device)
        out = Path(settings.out or default_out(device))
        if (out / "selftest.json").exists() or (out.exists() and any(out.iterdir())):
            raise UserError(f"{out} is not empty (an earlier selftest?); pass a new --out or remove it")
        out.mkdir(parents=True, exist_ok=True)
        if on_start is not None:
            on_start(device, out)
        ctx = Context(settings=settings, device=device, out=out)
        env = environment.collect(device)  # before any check changes torch's thread count
        started, t0 = mf.utc_now(), time.perf_counter()
        results: list[CheckResult] = []
        try:
            for g in groups:
                for r in GROUPS[g](ctx):
                    results.append(r)
                    if on_result is not None:
                        on_result(r)
        finally:
            ctx.drop()
        doc = {
            "schema_version": SCHEMA_VERSION, "kind": "selftest", "lensbench_version": lensbench.__version__,
            "started": started, "finished": mf.utc_now(), "seconds": round(time.perf_counter() - t0, 3),
            "device": device, "exit_code": exit_code(results), "passed": exit_code(results) == 0,
            "counts": counts(results), "groups": groups, "json": str(out / "selftest.json"),
            "settings": {**settings.to_dict(), "out": str(out), "dtypes": list(DTYPES),
                         "overhead_tolerance": dict(OVERHEAD_TOLERANCE),
                         "models": {m: reason or "runs" for m, reason in tiny_models()}},
            "environment": env,
            "git": mf.git_info(),
            "checks": [r.to_dict() for r in results],
        }
        from lensbench.selftest.summary import write_json

        write_json(out / "selftest.json", doc)
        return doc
