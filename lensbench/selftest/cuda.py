"""GPU-only checks: real OOM back-off, CPU offload modes, and a 2-process torchrun run against a 1-process run.
On a CPU each returns a skip with its reason; none of them simulates anything.

OOM back-off for real: the process's CUDA memory is capped with ``torch.cuda.set_per_process_memory_fraction``
at what is resident now plus about three images' worth of activations (measured by one calibration call), then
a planned batch of `oom_batch` images goes through the generate runner. The caching allocator raises a genuine
``torch.cuda.OutOfMemoryError``; the runner must halve the batch until it fits, commit every image and record the
back-off per image and in the events stream. The cap is lifted afterwards whatever happens.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from lensbench.selftest.context import CORE_MODEL, Context, free_device_memory
from lensbench.selftest.images import decode_probe, image_stats, run_config, run_images, stable_records
from lensbench.selftest.result import CheckResult, skipped, timed, verdict

OOM, TORCHRUN = "oom back-off", "torchrun 2 = 1 process"
OFFLOAD_MODES = ("model", "sequential")
MIB = 2**20


def memory_cap(reserved_now: int, one_image_peak: int, total: int, images: float = 3.0, slack: int = 64 * MIB) -> float:
    """The memory fraction that leaves room for about `images` images on top of what is reserved now (pure)."""
    if one_image_peak <= 0 or total <= 0:
        raise ValueError("calibration measured no memory use; cannot set a cap")
    return min(1.0, (reserved_now + images * one_image_peak + slack) / total)


def device_index(device: str) -> int:
    """The CUDA ordinal of 'cuda' / 'cuda:N' (set_per_process_memory_fraction needs an explicit one)."""
    import torch

    index = torch.device(device).index
    return torch.cuda.current_device() if index is None else index


def _calibrate(ctx: Context, gen, side: int) -> dict[str, Any]:
    import torch

    from lensbench.generators import GenerationRequest

    d = gen.spec.defaults
    dev = device_index(ctx.device)
    free_device_memory(ctx.device)
    torch.cuda.reset_peak_memory_stats(dev)
    base = torch.cuda.memory_allocated(dev)
    gen.generate([GenerationRequest(prompt="a photo of a red cube", seed=0, height=side, width=side, steps=d.steps,
                                    guidance=float(d.guidance), negative_prompt=d.negative_prompt)])
    torch.cuda.synchronize(dev)
    peak = torch.cuda.max_memory_allocated(dev) - base
    free_device_memory(ctx.device)
    return {"allocated_before": base, "one_image_peak": peak, "reserved_now": torch.cuda.memory_reserved(dev),
            "total": torch.cuda.get_device_properties(dev).total_memory}


def check_oom(ctx: Context) -> CheckResult:
    import torch

    from lensbench.runners.generate import run_generate

    s = ctx.settings
    gen = ctx.generator(CORE_MODEL, ctx.default_dtype)
    cal = _calibrate(ctx, gen, s.oom_size)
    fraction = memory_cap(cal["reserved_now"], cal["one_image_peak"], cal["total"])
    run = ctx.out / "oom" / CORE_MODEL
    cfg = run_config(ctx, CORE_MODEL, ctx.default_dtype, run).with_(
        limit=None, images_per_prompt=max(1, s.oom_batch // 2), batch_size=s.oom_batch, height=s.oom_size, width=s.oom_size)
    dev = device_index(ctx.device)
    torch.cuda.set_per_process_memory_fraction(fraction, dev)
    try:
        summary = run_generate(cfg, generator=gen)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, dev)
        free_device_memory(ctx.device)
    return evaluate_oom(run, summary, s.oom_batch, calibration=cal, fraction=fraction)


def evaluate_oom(run: Path, summary: dict[str, Any], oom_batch: int, **data: Any) -> CheckResult:
    """Did the run back off from `oom_batch` after genuine OOM errors, commit every image and record it per image?"""
    from lensbench.store.run_store import RunStore

    store = RunStore(run)
    recs = store.records("generate")
    events = [e for e in store.records("events") if e.get("event") == "oom_backoff"]
    planned = summary["planned"]
    backed = [r for r in recs if r.get("oom_backoff") and r.get("planned_batch_size") == oom_batch]
    sizes = sorted({r["batch_size"] for r in recs})
    real = all("out of memory" in e.get("error", "").lower() for e in events)
    ok = (bool(events) and real and len(recs) == planned == len(backed) and max(sizes, default=oom_batch) < oom_batch)
    figure = (f"batch {oom_batch} → {min(sizes) if sizes else '?'} after {len(events)} OOM(s), {len(recs)}/{planned} "
              f"images, {len(backed)} recorded as backed off")
    fraction, cal = data.get("fraction"), data.get("calibration") or {}
    if ok:
        detail = "real CUDA OOM errors, batch halved until it fit, every image committed"
        if fraction is not None:
            detail += f" (memory capped at {fraction:.4f} of the GPU; {cal.get('one_image_peak', 0) / MIB:.0f} MiB per image)"
    elif not events:
        detail = f"no out-of-memory error happened at batch {oom_batch}, so the back-off was not exercised"
    else:
        detail = (f"{len(recs)} of {planned} images committed, {len(backed)} recorded with oom_backoff, batch sizes "
                  f"{sizes}, errors say 'out of memory': {real}")
    return verdict(OOM, "oom", ok, figure, detail, "a larger --oom-batch makes the OOM certain; if images are "
                   f"missing, read the events stream in {run}/records", events=events, batch_sizes=sizes,
                   images=len(recs), planned=planned, recorded_backoff=len(backed), run_dir=str(run), **data)


def check_offload(ctx: Context, mode: str) -> CheckResult:
    import numpy as np

    from lensbench.runners.generate import run_generate

    name = f"offload {mode}"
    dtype = ctx.default_dtype
    gen = ctx.generator(CORE_MODEL, dtype, offload=mode)
    run = ctx.out / "offload" / mode
    with decode_probe(gen.pipe) as probe:
        summary = run_generate(run_config(ctx, CORE_MODEL, dtype, run, offload=mode), generator=gen)
    images = run_images(run)
    stats = image_stats(images)
    flat = [k for k, v in stats.items() if v["distinct_values"] <= 1]
    diff = None
    ref_dir = ctx.runs.get(f"{CORE_MODEL} {dtype}")
    if ref_dir:
        import io

        from PIL import Image

        ref = run_images(Path(ref_dir))
        common = sorted(set(ref) & set(images))
        diffs = [int(np.abs(np.asarray(Image.open(io.BytesIO(images[k])), dtype=np.int16)
                            - np.asarray(Image.open(io.BytesIO(ref[k])), dtype=np.int16)).max()) for k in common]
        diff = max(diffs) if diffs else None
    ok = summary["generated"] == summary["planned"] == len(images) > 0 and probe["finite"] and not flat
    figure = f"{len(images)}/{summary['planned']} images, {'finite' if probe['finite'] and not flat else 'NOT finite'}"
    figure += f", max |Δ| vs no offload {diff} levels" if diff is not None else ""
    ctx.drop_key(CORE_MODEL, dtype, mode)
    return verdict(name, "offload", ok, figure, f"through the generate runner with enable_{mode}_cpu_offload", "update accelerate and diffusers (pip install -U accelerate diffusers); "
                   f"use --offload {'sequential' if mode == 'model' else 'model'} meanwhile", images=len(images),
                   planned=summary["planned"], decode_probe=probe, max_abs_diff_vs_no_offload=diff, run_dir=str(run))


def _torchrun_cmd(ctx: Context, out: Path, nproc: int | None) -> list[str]:
    s = ctx.settings
    args = ["-m", "lensbench", "generate", "--model", CORE_MODEL, "--suite", "smoke", "--images-per-prompt", "2",
            "--batch-size", "1", "--height", str(s.size), "--width", str(s.size), "--dtype", ctx.default_dtype,
            "--device", "cuda" if ctx.cuda else "cpu", "--no-progress", "--out", str(out)]
    if nproc is None:
        return [sys.executable, *args]
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", *args]


def check_torchrun(ctx: Context) -> CheckResult:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    runs = {"two": ctx.out / "torchrun" / "two", "one": ctx.out / "torchrun" / "one"}
    procs = {}
    for key, nproc in (("two", 2), ("one", None)):
        procs[key] = subprocess.run(_torchrun_cmd(ctx, runs[key], nproc), capture_output=True, text=True, env=env,
                                    timeout=ctx.settings.torchrun_timeout_s)
    bad = {k: p for k, p in procs.items() if p.returncode != 0}
    if bad:
        k, p = next(iter(bad.items()))
        tail = (p.stderr.strip().splitlines() or ["(no output)"])[-1][:300]
        return verdict(TORCHRUN, "torchrun", False, f"{k}-process run exited {p.returncode}", tail,
                       "run the command in selftest.json by hand; check NCCL/gloo and that both GPUs are visible",
                       commands={k2: _torchrun_cmd(ctx, runs[k2], 2 if k2 == "two" else None) for k2 in runs},
                       stderr_tail={k2: p2.stderr[-3000:] for k2, p2 in procs.items()})
    a, b = run_images(runs["one"]), run_images(runs["two"])
    ra, rb = stable_records(runs["one"]), stable_records(runs["two"])
    ranks = sorted({int(p.name.split(".r")[1].split(".")[0]) for p in (runs["two"] / "records").glob("generate.r*.jsonl")})
    same = a == b and ra == rb and len(a) > 0
    ok = same and ranks == [0, 1]
    differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    figure = f"{len(b)} images from ranks {ranks}: {'byte-identical' if same else 'DIFFER'} to 1 process"
    detail = f"2 ranks ({'cuda:0 and cuda:1' if ctx.cuda else 'cpu'}) vs 1 process ({ctx.device})" if ok else (
        f"images differ: {', '.join(differ) or 'none'}; records equal: {ra == rb}; ranks that wrote: {ranks}")
    return verdict(TORCHRUN, "torchrun", ok, figure, detail, "different GPU models or drivers per rank give different "
                   "pixels: use identical GPUs; otherwise compare the two run directories in selftest.json",
                   images=len(b), ranks=ranks, differing=differ, run_dirs={k: str(v) for k, v in runs.items()})


ON_GPU = "run `lensbench selftest --device cuda` on a GPU node"


def run_oom(ctx: Context) -> list[CheckResult]:
    reason = None if ctx.cuda else ("CPU: no device memory to exceed; the real OOM back-off runs on CUDA "
                                    "(logic tested with injected OOMs: tests/integration/test_oom_backoff.py)")
    return [_guarded(ctx, OOM, "oom", check_oom, reason, ON_GPU)]


def run_offload(ctx: Context) -> list[CheckResult]:
    accel = importlib.util.find_spec("accelerate") is not None
    results = []
    for mode in OFFLOAD_MODES:
        if not ctx.cuda:
            reason, hint = "CPU: offload streams weights to a GPU on demand, needs CUDA", ON_GPU
        else:
            reason, hint = (None, "") if accel else ("accelerate is not installed", "pip install accelerate")
        results.append(_guarded(ctx, f"offload {mode}", "offload", lambda c, m=mode: check_offload(c, m), reason, hint))
    return results


def run_torchrun(ctx: Context) -> list[CheckResult]:
    ctx.drop()  # the subprocesses need the GPU memory
    gpus = _visible_gpus()
    reason = None if gpus > 1 else f"{gpus} CUDA GPU(s) visible; a 2-process torchrun run needs 2 or more"
    return [_guarded(ctx, TORCHRUN, "torchrun", check_torchrun, reason,
                     "run on a node with 2 or more GPUs (check CUDA_VISIBLE_DEVICES)")]


def _visible_gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _guarded(ctx: Context, name: str, group: str, fn, skip_reason: str | None, hint: str) -> CheckResult:
    if skip_reason:
        return skipped(name, group, skip_reason, hint)
    return timed(fn, ctx, name, group)
