"""`lensbench selftest` end to end: on CPU through the CLI (every check that applies to a CPU passes, the others
skip with a reason); on CUDA (tests marked `gpu`, skipped without CUDA) every check runs for real."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lensbench.selftest import cuda, speed
from lensbench.selftest.context import Context, SelftestSettings, tiny_models
from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.slow
THIRDPARTY = REPO.parent / "shared" / "thirdparty"  # upstream `lens` (tests only put it on the path)

CPU_SKIPS = {"oom back-off", "offload model", "offload sequential", "torchrun 2 = 1 process"}


def test_cpu_selftest_passes_through_the_cli(tmp_path):
    out = tmp_path / "st"
    lens = (THIRDPARTY / "lens").is_dir()
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(THIRDPARTY), os.environ.get("PYTHONPATH")]))} if lens else None
    p = run_cli("selftest", "--device", "cpu", "--out", str(out), env=env, timeout=600)
    assert p.returncode == 0, p.stdout[-4000:] + p.stderr[-4000:]
    assert "all applicable checks passed" in p.stdout and "FAIL" not in p.stdout
    doc = json.loads((out / "selftest.json").read_text())
    checks = {c["name"]: c for c in doc["checks"]}
    runnable = [m for m, reason in doc["settings"]["models"].items() if reason == "runs"]
    assert {"tiny", "tiny-z-image", "tiny-qwen-image", "tiny-flux2-klein"} <= set(runnable)
    if lens and "tiny-lens" in doc["settings"]["models"]:
        assert "tiny-lens" in runnable
    for m in runnable:
        for dtype in ("float32", "bfloat16"):
            c = checks[f"generate {m} {dtype}"]
            assert c["status"] == "pass", c
            assert c["data"]["resumed_identical"] and c["data"]["interrupted_after_images"] == 1
    for name in ("score geneval (tiny detector)", "speed overhead", "speed stage split", "peak memory", "report"):
        assert checks[name]["status"] == "pass", checks[name]
    for name in CPU_SKIPS:
        assert checks[name]["status"] == "skip" and checks[name]["detail"] and checks[name]["hint"], checks[name]
    overhead = checks["speed overhead"]["data"]
    assert overhead["base_tolerance"] == 0.25 <= overhead["tolerance"] and len(overhead["rounds"]) == 4
    assert all(len(r["bare_s"]) == 10 and len(r["harness_s"]) == 5 for r in overhead["rounds"])
    assert 0 < checks["peak memory"]["data"]["peak_gb"] < checks["peak memory"]["data"]["device_total_gb"]
    assert doc["device"] == "cpu" and doc["exit_code"] == 0 and doc["counts"]["fail"] == 0
    env = doc["environment"]
    assert env["cpu"] and env["torch_threads"] >= 1 and env["versions"]["diffusers"] and env["hf_hub_offline"] == "1"
    # the report really covers the runs; nothing was written outside --out
    assert (out / "report" / "README.md").exists()
    assert all(Path(f).is_relative_to(out) for f in checks["report"]["data"]["files"])


def test_torchrun_check_code_path_on_cpu(tmp_path):
    """The selftest skips torchrun without 2 GPUs; its check itself (commands, comparison) also works on CPU."""
    ctx = Context(settings=SelftestSettings(device="cpu"), device="cpu", out=tmp_path)
    r = cuda.check_torchrun(ctx)
    assert r.status == "pass", (r.detail, r.data)
    assert r.data["ranks"] == [0, 1] and r.data["images"] == 4


# -- CUDA: every check runs (skipped with a reason without CUDA) ------------------------------------------------
def _cuda_or_skip():
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs CUDA: torch.cuda.is_available() is False on this machine")


@pytest.mark.gpu
def test_cuda_selftest_every_check_runs(tmp_path):
    _cuda_or_skip()
    import importlib.util

    import torch

    out = tmp_path / "st"
    p = run_cli("selftest", "--device", "cuda", "--out", str(out), timeout=1200)
    doc = json.loads((out / "selftest.json").read_text())
    checks = {c["name"]: c for c in doc["checks"]}
    allowed_skips = {f"generate {m} {d}" for m, reason in tiny_models() if reason for d in ("float32", "bfloat16")}
    if torch.cuda.device_count() < 2:
        allowed_skips.add("torchrun 2 = 1 process")
    if importlib.util.find_spec("accelerate") is None:
        allowed_skips |= {"offload model", "offload sequential"}
    assert {n for n, c in checks.items() if c["status"] == "skip"} <= allowed_skips
    assert p.returncode == 0, p.stdout[-4000:]
    assert checks["speed overhead"]["data"]["tolerance"] == 0.05  # fixed on CUDA, never widened
    assert doc["environment"]["gpu_name"] and doc["environment"]["cuda"]


@pytest.mark.gpu
def test_cuda_oom_backoff_for_real(tmp_path):
    _cuda_or_skip()
    import torch

    ctx = Context(settings=SelftestSettings(device="cuda"), device="cuda", out=tmp_path)
    try:
        r = cuda.check_oom(ctx)
    finally:
        ctx.drop()
    assert r.status == "pass", (r.detail, r.data)
    assert all("out of memory" in e["error"].lower() for e in r.data["events"])
    free, total = torch.cuda.mem_get_info()
    assert r.data["fraction"] < 1.0 and free > 0  # the cap was lifted: the rest of the session still runs
    torch.empty(int(0.5 * free), dtype=torch.uint8, device="cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("mode", cuda.OFFLOAD_MODES)
def test_cuda_offload_generates(tmp_path, mode):
    _cuda_or_skip()
    pytest.importorskip("accelerate", reason="offload needs accelerate")
    ctx = Context(settings=SelftestSettings(device="cuda"), device="cuda", out=tmp_path)
    try:
        r = cuda.check_offload(ctx, mode)
    finally:
        ctx.drop()
    assert r.status == "pass", (r.detail, r.data)


@pytest.mark.gpu
def test_cuda_event_bare_timer_agrees_with_wall_clock():
    _cuda_or_skip()
    import time

    import torch

    x = torch.randn(2048, 2048, device="cuda")
    timer = speed.bare_timer("cuda")
    timer(lambda: x @ x)  # warm-up
    t = time.perf_counter()
    gpu = timer(lambda: [x @ x for _ in range(20)])
    wall = time.perf_counter() - t
    assert 0 < gpu <= wall * 1.05 and gpu >= 0.3 * wall
