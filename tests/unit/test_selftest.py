"""`lensbench selftest`: the check verdicts on injected measurements (pass and, above all, fail), the failing
line and exit code through the CLI, and the pieces the GPU checks are built from that can run without a GPU."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lensbench.generators import MODELS
from lensbench.selftest import cuda, images, speed
from lensbench.selftest.context import Context, SelftestSettings, tiny_models
from lensbench.selftest.result import FAIL, PASS, SKIP, CheckResult, exit_code
from tests import fakes
from tests.helpers import run_cli_inprocess


def _sample(total=1.0, enc=0.1, den=0.7, vae=0.1, steps=(0.35, 0.35)):
    other = total - enc - den - vae
    return {"total_s": total, "rewrite_s": None, "text_encode_s": enc, "denoise_s": den, "vae_decode_s": vae,
            "other_s": other, "steps_s": list(steps)}


def fake_measurement(harness=1.0, bare=1.0, *, cuda_=False, samples=None, memory=None, total_gb=16.0):
    """What `speed.measure_speed` returns, with chosen numbers (3 rounds of 10 bare and 5 harness calls)."""
    jitter = [0.0, 0.01, -0.01, 0.02, -0.02]
    rounds = [{"bare_s": [bare * (1 + j) for j in jitter * 2], "harness_s": [harness * (1 + j) for j in jitter],
               "harness_reported_p50_s": harness, "samples": samples if samples is not None else [_sample()] * 5,
               "memory": memory if memory is not None else {"peak_alloc_gb": None, "rss_peak_gb": 1.5}}
              for _ in range(3)]
    return {"model": "tiny", "dtype": "float32", "size": [64, 64], "steps": 2, "device": "cuda" if cuda_ else "cpu",
            "timer": "perf_counter", "rounds": rounds, "device_total_gb": total_gb, "cuda": cuda_}


# -- speed overhead ---------------------------------------------------------------------------------------------
def test_overhead_within_tolerance_passes_and_records_the_figure():
    r = speed.evaluate_overhead(fake_measurement(harness=1.01, bare=1.0))
    assert r.status == PASS and r.data["ratio_median"] == pytest.approx(1.01)
    assert "overhead +1.0 %" in r.figure and "limit ±25 %" in r.figure and r.hint == ""


def test_overhead_too_slow_fails_with_what_to_try():
    r = speed.evaluate_overhead(fake_measurement(harness=1.5, bare=1.0))
    assert r.status == FAIL and "50.0 % more than a bare timed call" in r.detail
    assert "work added inside the timed call" in r.hint


def test_overhead_faster_than_bare_fails_as_missing_work():
    r = speed.evaluate_overhead(fake_measurement(harness=0.5, bare=1.0, cuda_=True))
    assert r.status == FAIL and "less than a bare" in r.detail and "synchronisation" in r.hint
    assert r.data["tolerance"] == 0.05


def test_noisy_cpu_widens_the_tolerance_and_says_so_but_cuda_does_not():
    m = fake_measurement(harness=1.35, bare=1.0)
    assert speed.evaluate_overhead(m).status == FAIL  # quiet machine: 35 % is over the 25 % limit
    for rnd in m["rounds"]:  # identical calls now spread widely (IQR / median): a busy CPU
        rnd["bare_s"] = [0.7, 0.8, 1.0, 1.0, 1.2, 1.3] * 2
        rnd["harness_s"] = [1.1, 1.35, 1.6]
    r = speed.evaluate_overhead(m)
    assert r.status == PASS and r.data["judged_on"] == "median" and "widened for CPU noise" in r.figure
    assert r.data["tolerance"] == pytest.approx(2 * r.data["spread"]) and r.data["tolerance"] > 0.35
    m["cuda"] = True
    assert speed.evaluate_overhead(m).status == FAIL and speed.evaluate_overhead(m).data["tolerance"] == 0.05


def test_bursty_cpu_interference_is_judged_on_the_fastest_calls():
    """Seen on the shared dev VM: most calls clean, some 1.5-3x slower; the harness happened to catch more."""
    m = fake_measurement(harness=1.0, bare=1.0)
    for rnd in m["rounds"]:
        rnd["bare_s"] = [1.0] * 9 + [2.5]
        rnd["harness_s"] = [1.02, 1.6, 1.6, 1.6, 1.65]  # one clean call, four hit by a burst
    r = speed.evaluate_overhead(m)
    assert r.status == PASS and r.data["judged_on"] == "minimum" and r.figure.startswith("overhead +2.0 % (of minima")
    assert r.data["ratio_median"] == pytest.approx(1.6)
    m["cuda"] = True  # GPU timings are not excused
    assert speed.evaluate_overhead(m).status == FAIL


def test_a_real_overhead_fails_in_both_statistics():
    m = fake_measurement(harness=1.5, bare=1.0)
    r = speed.evaluate_overhead(m)
    assert r.status == FAIL and r.data["ratio_min"] == pytest.approx(1.5)
    assert "its fastest calls +50.0 % (limit 25 %)" in r.detail


def test_relative_spread():
    assert speed.relative_spread([1.0] * 6) == 0.0
    assert speed.relative_spread([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2.0 / 3.0)


# -- stage split ------------------------------------------------------------------------------------------------
def test_stage_split_consistent_sample_has_no_problems():
    assert speed.split_problems(_sample(), steps=2) == []
    assert speed.evaluate_stage_split(fake_measurement()).status == PASS


@pytest.mark.parametrize("sample, steps, fragment", [
    (_sample(enc=0.3, den=0.7, vae=0.2), 2, "stages overlap"),
    ({**_sample(), "vae_decode_s": None}, 2, "not observed: vae_decode_s"),
    (_sample(), 4, "2 step times for 4 steps"),
    (_sample(steps=(0.3, 0.3)), 2, "step times sum to 0.600000 s, denoise is 0.700000 s"),
    ({**_sample(), "other_s": 0.2}, 2, "stages sum to 1.100000 s, total is 1.000000 s"),
])
def test_stage_split_problems_are_named(sample, steps, fragment):
    assert any(fragment in p for p in speed.split_problems(sample, steps))


def test_stage_split_without_samples_fails():
    r = speed.evaluate_stage_split(fake_measurement(samples=[]))
    assert r.status == FAIL and "no measured calls" in r.detail


# -- peak memory ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("memory, cuda_, status", [
    ({"rss_peak_gb": 1.5}, False, PASS),
    ({"rss_peak_gb": None}, False, FAIL),
    ({"peak_alloc_gb": 2.0}, True, PASS),
    ({"peak_alloc_gb": 0.0}, True, FAIL),
    ({"peak_alloc_gb": 20.0}, True, FAIL),  # above the 16 GB device: the tracker is wrong
])
def test_peak_memory_positive_and_below_the_device_total(memory, cuda_, status):
    r = speed.evaluate_peak_memory(fake_measurement(memory=memory, cuda_=cuda_))
    assert r.status == status
    if status == FAIL:
        assert "expected 0 < peak < total" in r.detail and r.hint


# -- the failing line and exit code through the CLI ------------------------------------------------------------
def test_cli_prints_the_failing_line_and_exits_1(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "measure_speed", lambda ctx: fake_measurement(harness=1.5, bare=1.0))
    out = tmp_path / "st"
    p = run_cli_inprocess("selftest", "--device", "cpu", "--only", "speed", "--out", str(out))
    assert p.returncode == 1, p.stdout + p.stderr
    [line] = [ln for ln in p.stdout.splitlines() if ln.startswith("FAIL ")]
    assert line.startswith("FAIL speed overhead: overhead +50.0 %")
    assert "more than a bare timed call" in line and "try: harness slower" in line
    doc = json.loads((out / "selftest.json").read_text())
    assert doc["exit_code"] == 1 and doc["passed"] is False and doc["counts"] == {"pass": 2, "fail": 1, "skip": 0}
    by_name = {c["name"]: c for c in doc["checks"]}
    assert by_name["speed overhead"]["status"] == FAIL and by_name["speed overhead"]["data"]["ratio_median"] == 1.5
    assert by_name["speed stage split"]["status"] == PASS and by_name["peak memory"]["status"] == PASS
    env = doc["environment"]
    for key in ("cpu", "torch_threads", "versions", "gpus", "cuda"):
        assert key in env
    assert env["versions"]["torch"] and env["versions"]["diffusers"]


def test_cli_json_output_and_passing_exit_code(tmp_path, monkeypatch):
    monkeypatch.setattr(speed, "measure_speed", lambda ctx: fake_measurement(harness=1.0, bare=1.0))
    p = run_cli_inprocess("selftest", "--device", "cpu", "--only", "speed", "--out", str(tmp_path / "st"), "--json")
    assert p.returncode == 0, p.stdout + p.stderr
    doc = json.loads(p.stdout)
    assert doc["kind"] == "selftest" and doc["exit_code"] == 0 and doc["groups"] == ["speed"]
    assert json.loads((tmp_path / "st" / "selftest.json").read_text())["checks"] == doc["checks"]


def test_cli_bad_inputs_are_one_line_errors(tmp_path):
    p = run_cli_inprocess("selftest", "--device", "cpu", "--only", "spead", "--out", str(tmp_path / "a"))
    assert p.returncode == 2 and p.stderr.startswith("error: unknown selftest check group(s) spead; known: images")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "selftest.json").write_text("{}")
    p = run_cli_inprocess("selftest", "--device", "cpu", "--out", str(tmp_path / "b"))
    assert p.returncode == 2 and "is not empty" in p.stderr and "new --out" in p.stderr
    assert json.loads((tmp_path / "b" / "selftest.json").read_text()) == {}  # nothing overwritten
    p = run_cli_inprocess("selftest", "--device", "cpu", "--out", str(tmp_path / "e"), env={"RANK": "0", "WORLD_SIZE": "2"})
    assert p.returncode == 2 and "without torchrun" in p.stderr and not (tmp_path / "e").exists()
    p = run_cli_inprocess("selftest", "--device", "cpu", "--oom-batch", "7", "--out", str(tmp_path / "c"))
    assert p.returncode == 2 and "--oom-batch must be an even number" in p.stderr
    import torch

    if not torch.cuda.is_available():
        p = run_cli_inprocess("selftest", "--device", "cuda", "--out", str(tmp_path / "d"))
        assert p.returncode == 2 and p.stderr.startswith("error: --device cuda was requested but CUDA is not available")
        assert not (tmp_path / "d").exists()


def test_exit_code_needs_one_applicable_check_and_no_failure():
    ok, bad, skip = (CheckResult("a", "g", s) for s in (PASS, FAIL, SKIP))
    assert exit_code([ok, skip]) == 0
    assert exit_code([ok, bad, skip]) == 1
    assert exit_code([skip]) == 1  # nothing proven
    with pytest.raises(ValueError):
        CheckResult("a", "g", "ok")


# -- generate checks with injected generators -------------------------------------------------------------------
class _Drifting(fakes.FakeGenerator):
    """Different pixels on every call: a resumed run cannot match."""

    def generate(self, requests, step_callback=None):
        self.calls.append(len(requests))
        return [fakes.fake_image(r, [r] * len(self.calls)) for r in requests]


class _Flat(fakes.FakeGenerator):
    def generate(self, requests, step_callback=None):
        return [Image.new("RGB", (r.width, r.height)) for r in requests]


def _ctx(tmp_path, gen) -> Context:
    ctx = Context(settings=SelftestSettings(device="cpu"), device="cpu", out=tmp_path)
    ctx._gens[("tiny", "float32", "none")] = gen
    return ctx


def test_generate_check_passes_for_a_deterministic_generator(tmp_path):
    r = images.check_model_dtype(_ctx(tmp_path, fakes.FakeGenerator(batch_invariant=True)), "tiny", "float32")
    assert r.status == PASS, r.detail
    assert r.figure == "2/2 images, finite, resume byte-identical"
    assert r.data["interrupted_after_images"] == 1 and r.data["resume"] == {"skipped": 1, "generated": 1}


def test_generate_check_fails_when_the_resumed_run_differs(tmp_path):
    r = images.check_model_dtype(_ctx(tmp_path, _Drifting(batch_invariant=True)), "tiny", "float32")
    assert r.status == FAIL and "resume DIFFERS" in r.figure and "resumed run differs" in r.detail and r.hint


def test_generate_check_fails_on_flat_images(tmp_path):
    r = images.check_model_dtype(_ctx(tmp_path, _Flat()), "tiny", "float32")
    assert r.status == FAIL and "NOT finite" in r.figure and "flat (one-colour) images" in r.detail


def test_decode_probe_sees_nan_and_restores_the_instance():
    import torch

    class Vae:
        def decode(self, z):
            return (z / z.sum(),)  # all-zero latents: 0/0 = NaN

    class Pipe:
        vae = Vae()

    pipe = Pipe()
    with images.decode_probe(pipe) as seen:
        pipe.vae.decode(torch.zeros(2))
    assert seen == {"calls": 1, "finite": False, "max_abs": 0.0, "probed": True}
    assert "decode" not in vars(pipe.vae)  # the class method is back
    with images.decode_probe(pipe) as seen:
        pipe.vae.decode(torch.ones(2))
    assert seen == {"calls": 1, "finite": True, "max_abs": 0.5, "probed": True}


def test_tiny_models_lists_every_local_build_and_says_why_one_cannot_run(monkeypatch):
    from dataclasses import replace

    from lensbench.registry import Registry

    reg = Registry("model")
    reg.register("tiny", MODELS.get("tiny"))
    needs = replace(MODELS.get("tiny"), name="tiny-needs-pkg",
                    requires=replace(MODELS.get("tiny").requires, packages=("surely_not_a_package_xyz",),
                                     install_hint="clone it"))
    reg.register("tiny-needs-pkg", needs)
    reg.register("real", replace(MODELS.get("tiny"), name="real", local_builder=None))
    monkeypatch.setattr("lensbench.generators.MODELS", reg)
    got = dict(tiny_models())
    assert got["tiny"] is None and "real" not in got
    assert "surely_not_a_package_xyz is not importable (clone it)" in got["tiny-needs-pkg"]


# -- the GPU checks' CPU-testable parts -------------------------------------------------------------------------
def test_memory_cap_leaves_room_for_three_images():
    mib = 2**20
    assert cuda.memory_cap(1000 * mib, 100 * mib, 10000 * mib) == pytest.approx((1000 + 300 + 64) / 10000)
    assert cuda.memory_cap(9000 * mib, 1000 * mib, 10000 * mib) == 1.0
    with pytest.raises(ValueError):
        cuda.memory_cap(1, 0, 10)


def _oom_run(tmp_path, gen):
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate

    cfg = RunConfig(model="tiny", suite="smoke", images_per_prompt=8, batch_size=16, height=64, width=64, steps=2,
                    device="cpu", out=str(tmp_path / "run"), progress=False)
    return tmp_path / "run", run_generate(cfg, generator=gen)


def test_oom_verdict_on_a_backed_off_run(tmp_path):
    """The verdict's logic on the runner's real records (the OOMs here are injected by the fake generator;
    the selftest itself provokes real ones on CUDA)."""
    run, summary = _oom_run(tmp_path, fakes.FakeGenerator(oom_above=4))
    r = cuda.evaluate_oom(run, summary, 16)
    assert r.status == PASS, r.detail
    assert r.figure == "batch 16 → 4 after 2 OOM(s), 16/16 images, 16 recorded as backed off"


def test_oom_verdict_fails_when_nothing_ran_out_of_memory(tmp_path):
    run, summary = _oom_run(tmp_path, fakes.FakeGenerator())
    r = cuda.evaluate_oom(run, summary, 16)
    assert r.status == FAIL and "back-off was not exercised" in r.detail and "--oom-batch" in r.hint


def test_gpu_checks_skip_with_reasons_on_cpu(tmp_path):
    ctx = Context(settings=SelftestSettings(device="cpu"), device="cpu", out=Path(tmp_path))
    got = cuda.run_oom(ctx) + cuda.run_offload(ctx)
    assert [r.status for r in got] == [SKIP, SKIP, SKIP]
    assert "CPU: no device memory" in got[0].detail and "needs CUDA" in got[1].detail
    assert all("--device cuda" in r.hint for r in got)


def test_flat_image_stats():
    import io

    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 16, 3), dtype=np.uint8)).save(buf, format="PNG")
    assert images.image_stats({"a.png": buf.getvalue()})["a.png"] == {"size": [16, 8], "distinct_values": 1, "mean": 0.0}


def test_table_merges_a_models_identical_passes_but_keeps_failures_apart():
    from lensbench.selftest.summary import failure_lines, table_rows

    def gen(model, dtype, status=PASS, figure="2/2 images, finite, resume byte-identical"):
        return CheckResult(f"generate {model} {dtype}", "images", status, figure, "d", "h" if status == FAIL else "",
                           data={"model": model, "dtype": dtype})

    rows = table_rows([gen("a", "float32"), gen("a", "bfloat16"), gen("b", "float32"),
                       gen("b", "bfloat16", FAIL, "2/2 images, NOT finite, resume byte-identical"),
                       CheckResult("report", "report", PASS, "3 files")])
    assert [name for _, name, _ in rows] == ["generate a float32+bfloat16", "generate b float32", "generate b bfloat16",
                                             "report"]
    assert rows[2] == (FAIL, "generate b bfloat16", "2/2 images, NOT finite, resume byte-identical: d")
    assert failure_lines([gen("b", "bfloat16", FAIL, "x")]) == ["FAIL generate b bfloat16: x; d; try: h"]
