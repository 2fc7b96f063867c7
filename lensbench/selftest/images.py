"""Generate checks: every tiny build makes images in fp32 and bf16 on the device, the decoded pixels are finite,
and a run interrupted after its first image resumes to exactly the bytes of an uninterrupted run.

Both runs go through the generate runner (`run_generate`) with a generator loaded once; the interruption is an
exception raised by a wrapper around the generator on its second call, after the first image was committed,
so the resume path (skip finished work, make the rest) is the real one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lensbench.selftest.context import CORE_MODEL, DTYPES, Context, tiny_models
from lensbench.selftest.result import CheckResult, crashed, skipped, verdict

GROUP = "images"
_VOLATILE = ("latency_s", "rank", "time")


class Interrupted(Exception):
    """Raised by `InterruptAfter` to stop a run part-way (stands for a crash or a kill)."""


class InterruptAfter:
    """Delegates to a loaded generator and raises `Interrupted` at call number `calls + 1`."""

    def __init__(self, gen: Any, calls: int):
        self._gen, self._left = gen, calls

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gen, name)

    def generate(self, requests, step_callback=None):
        if self._left <= 0:
            raise Interrupted("selftest: simulated interruption")
        self._left -= 1
        return self._gen.generate(requests, step_callback=step_callback)


@contextlib.contextmanager
def decode_probe(pipe: Any) -> Iterator[dict[str, Any]]:
    """Wrap `pipe.vae.decode` on the instance and record whether every decoded tensor is finite."""
    seen: dict[str, Any] = {"calls": 0, "finite": True, "max_abs": 0.0, "probed": False}
    vae = getattr(pipe, "vae", None)
    original = getattr(vae, "decode", None)
    if vae is None or not callable(original):
        yield seen
        return
    had_own = "decode" in vars(vae)

    def probe(*args, **kwargs):
        out = original(*args, **kwargs)
        for t in _tensors(out):
            f = t.detach().float()
            seen["finite"] = seen["finite"] and bool(f.isfinite().all())
            seen["max_abs"] = max(seen["max_abs"], float(f.nan_to_num(0.0, 0.0, 0.0).abs().max()))
        seen["calls"] += 1
        return out

    object.__setattr__(vae, "decode", probe)
    seen["probed"] = True
    try:
        yield seen
    finally:
        if had_own:
            object.__setattr__(vae, "decode", original)
        else:
            object.__delattr__(vae, "decode")


def _tensors(out: Any) -> list:
    import torch

    if isinstance(out, torch.Tensor):
        return [out]
    sample = getattr(out, "sample", None)
    if isinstance(sample, torch.Tensor):
        return [sample]
    if isinstance(out, (tuple, list)):
        return [t for t in out if isinstance(t, torch.Tensor)]
    return []


def run_config(ctx: Context, model: str, dtype: str, out: Path, **extra: Any):
    from lensbench.config import RunConfig

    s = ctx.settings
    return RunConfig(model=model, suite="smoke", out=str(out), images_per_prompt=1, limit=s.images, height=s.size,
                     width=s.size, dtype=dtype, device=ctx.device, batch_size=1, progress=s.progress, **extra)


def run_images(run_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(run_dir).as_posix(): p.read_bytes() for p in sorted(run_dir.rglob("*.png"))}


def stable_records(run_dir: Path) -> dict[str, dict[str, Any]]:
    from lensbench.store.run_store import RunStore

    return {r["key"]: {k: v for k, v in r.items() if k not in _VOLATILE} for r in RunStore(run_dir).records("generate")}


def image_stats(images: dict[str, bytes]) -> dict[str, Any]:
    """Per image: size and number of distinct values (a NaN/inf image decodes to one flat colour)."""
    import io

    import numpy as np
    from PIL import Image

    out = {}
    for rel, data in images.items():
        arr = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        out[rel] = {"size": [arr.shape[1], arr.shape[0]], "distinct_values": int(len(np.unique(arr))),
                    "mean": round(float(arr.mean()), 3)}
    return out


def check_model_dtype(ctx: Context, model: str, dtype: str) -> CheckResult:
    from lensbench.runners.generate import run_generate

    name = f"generate {model} {dtype}"
    base = ctx.out / "images" / f"{model}-{dtype}"
    gen = ctx.generator(model, dtype)
    with decode_probe(getattr(gen, "pipe", None)) as probe:
        full = run_generate(run_config(ctx, model, dtype, base / "uninterrupted"), generator=gen)
        interrupted_at = None
        try:
            run_generate(run_config(ctx, model, dtype, base / "resumed"), generator=InterruptAfter(gen, 1))
        except Interrupted:
            interrupted_at = len(stable_records(base / "resumed"))
        resumed = run_generate(run_config(ctx, model, dtype, base / "resumed"), generator=gen)
    ctx.runs.setdefault(f"{model} {dtype}", str(base / "uninterrupted"))
    a, b = run_images(base / "uninterrupted"), run_images(base / "resumed")
    stats = image_stats(a)
    want = ctx.settings.images
    flat = sorted(rel for rel, st in stats.items() if st["distinct_values"] <= 1)
    wrong_size = sorted(rel for rel, st in stats.items() if st["size"] != [ctx.settings.size] * 2)
    same = a == b and stable_records(base / "uninterrupted") == stable_records(base / "resumed")
    data = {"model": model, "dtype": dtype, "images": len(a), "expected": want, "generated": full["generated"],
            "decode_probe": probe, "image_stats": stats, "interrupted_after_images": interrupted_at,
            "resume": {"skipped": resumed["skipped"], "generated": resumed["generated"]},
            "resumed_identical": same, "run_dirs": [str(base / "uninterrupted"), str(base / "resumed")]}
    problems = []
    if len(a) != want or full["generated"] != want:
        problems.append(f"{len(a)} of {want} images made")
    if wrong_size:
        problems.append(f"wrong size: {', '.join(wrong_size)}")
    if not probe["finite"]:
        problems.append("the VAE decoded NaN/inf pixels")
    if flat:
        problems.append(f"flat (one-colour) images, the sign of NaN/inf: {', '.join(flat)}")
    if interrupted_at != 1 or resumed["skipped"] != 1:
        problems.append(f"the interrupted run kept {interrupted_at} image(s) and the resume reused {resumed['skipped']} "
                        "(expected 1 and 1)")
    if not same:
        differ = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        problems.append(f"resumed run differs from the uninterrupted one ({', '.join(differ) or 'records'})")
    finite = "finite" if probe["finite"] and not flat else "NOT finite"
    figure = f"{len(a)}/{want} images, {finite}, resume {'byte-identical' if same else 'DIFFERS'}"
    hint = ("dtype problems: try --dtype float32 for this model or update torch/diffusers; resume differences: run "
            "`lensbench verify` on the run directories and report the lensbench version")
    if dtype == "bfloat16" and not probe["finite"]:
        hint = "this GPU/torch build computes NaN in bf16: check torch.cuda.is_bf16_supported() and use --dtype float16 or float32"
    return verdict(name, GROUP, not problems, figure, "; ".join(problems) or "made, decoded finite, resumed identically",
                   hint, **data)


def run(ctx: Context) -> list[CheckResult]:
    results = []
    for model, reason in tiny_models():
        for dtype in DTYPES:
            name = f"generate {model} {dtype}"
            if reason:
                results.append(skipped(name, GROUP, reason, "make the package importable to include this model",
                                       model=model, dtype=dtype))
                continue
            t = time.perf_counter()
            try:
                res = check_model_dtype(ctx, model, dtype)
            except Exception as exc:  # noqa: BLE001 - a crashing model is a failed check, the others still run
                res = crashed(name, GROUP, exc)
                res.data.update(model=model, dtype=dtype)
            res.seconds = round(time.perf_counter() - t, 3)
            results.append(res)
        if model != CORE_MODEL:
            ctx.drop(model)  # the core model stays loaded for the checks that follow
    return results

