"""The speed runner end to end: a counting stand-in generator (OOM / error injection, compile path, call counts),
the real tiny model in-process (stage split sums to the total), and the CLI on CPU. No timed asserts."""

from __future__ import annotations

import csv
import json
import math
from collections import Counter

import pytest

from lensbench.generators import MODELS, GenerationRequest, Generator, LoadOptions
from lensbench.speed.run import SpeedConfig, run_speed
from lensbench.speed.output import COLUMNS
from tests.helpers import assert_user_error, run_cli

STAGE_COLS = ("rewrite_s", "text_encode_s", "denoise_s", "vae_decode_s", "other_s")


class StandInPipe:
    def __init__(self):
        import torch

        self.unet = torch.nn.Linear(4, 4)
        self.vae = self

    def encode_prompt(self, prompts):
        return [p.upper() for p in prompts]

    def decode(self, x):
        return x


class StandInGenerator(Generator):
    """Counts calls per (height, width, steps, batch); raises CUDA OOM / another error for chosen sizes."""

    def __init__(self, oom_sizes=(), error_sizes=()):
        super().__init__(MODELS.get("tiny"), LoadOptions(device="cpu"))
        self.calls: Counter = Counter()
        self.oom_sizes, self.error_sizes = set(oom_sizes), set(error_sizes)
        self.pipe = StandInPipe()

    def pipeline(self):  # the declared Generator hook the speed suite instruments
        return self.pipe

    def load(self) -> None:
        pass

    def generate(self, requests, step_callback=None):
        import torch

        r = requests[0]
        self.calls[(r.height, r.width, r.steps, len(requests))] += 1
        self.prompts = [q.prompt for q in requests]
        if (r.height, r.width) in self.oom_sizes:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        if (r.height, r.width) in self.error_sizes:
            raise ValueError("broken pipeline")
        self.pipe.encode_prompt([q.prompt for q in requests])
        x = torch.zeros(len(requests), 4)
        for i in range(r.steps):
            x = self.pipe.unet(x)
            if step_callback:
                step_callback(i, 1000 - i)
        self.pipe.vae.decode(x)
        return [None] * len(requests)


def _csv(run_dir):
    with open(run_dir / "speed" / "measurements.csv", newline="") as fh:
        reader = csv.DictReader(fh)
        return reader.fieldnames, list(reader)


def _jsonl(run_dir):
    return [json.loads(line) for line in (run_dir / "speed" / "measurements.jsonl").read_text().splitlines()]


def test_oom_row_and_sweep_continues_with_counted_calls(tmp_path):
    gen = StandInGenerator(oom_sizes={(128, 128)}, error_sizes={(64, 128)})
    cfg = SpeedConfig(model="tiny", resolutions=["64x64", "128x128", "128x64", "32x32"], steps=[4],
                      batch_sizes=[1, 2], warmup=2, repeats=4, min_duration_s=0.0, device="cpu", out=str(tmp_path / "r"))
    out = run_speed(cfg, generator=gen)
    statuses = [(r["width"], r["height"], r["batch_size"], r["status"]) for r in out["rows"]]
    assert statuses == [(64, 64, 1, "ok"), (64, 64, 2, "ok"), (128, 128, 1, "oom"), (128, 128, 2, "oom"),
                        (128, 64, 1, "error"), (128, 64, 2, "error"), (32, 32, 1, "ok"), (32, 32, 2, "ok")]
    # warm-up and repeats honoured: 1 cold + 2 warm-up + 4 measured calls per ok configuration
    assert gen.calls[(64, 64, 4, 1)] == 7 and gen.calls[(32, 32, 4, 2)] == 7
    assert gen.calls[(128, 128, 4, 1)] == 1 and gen.calls[(128, 128, 4, 2)] == 0  # larger batch skipped after OOM
    assert gen.calls[(64, 128, 4, 2)] == 1  # errors do not skip anything
    fields, rows = _csv(tmp_path / "r")
    assert tuple(fields) == COLUMNS
    assert [r["status"] for r in rows] == [s for *_, s in statuses]
    ok = rows[0]
    assert ok["n"] == "4" and ok["device"] == "cpu" and ok["compile"] == "false" and ok["latency_p50_s"]
    assert rows[2]["n"] == "0" and rows[2]["latency_p50_s"] == ""
    recs = _jsonl(tmp_path / "r")
    assert len(recs) == 8
    assert "OutOfMemoryError" in recs[2]["error"] and "skipped" in recs[3]["note"]
    assert "broken pipeline" in recs[4]["error"] and "ValueError" in recs[4]["traceback"]
    assert len(recs[0]["latency"]["values"]) == 4 and all(len(s["steps_s"]) == 4 for s in recs[0]["samples"])
    assert recs[0]["calls"] == 7 and recs[0]["cold"]["total_s"] > 0
    results = json.loads((tmp_path / "r" / "results" / "speed.json").read_text())
    p50 = [m for m in results["metrics"] if m["metric"] == "latency_p50_s"]
    assert len(p50) == 4 + 1 and all(m["higher_is_better"] is False for m in p50)  # 4 ok rows + headline (tiny's default 64x64, 4 steps)
    assert [m["category"] for m in p50 if m["category"] is None] == [None]
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert manifest["kind"] == "speed" and manifest["speed"]["statuses"] == {"ok": 4, "oom": 2, "error": 2}
    assert manifest["speed"]["instrumented"] == ["encode_prompt", "vae.decode"]
    assert "encode_prompt" not in vars(gen.pipe) and "decode" not in vars(gen.pipe)  # instance restored


@pytest.mark.slow
def test_min_duration_and_compile_path(tmp_path):
    gen = StandInGenerator()
    cfg = SpeedConfig(model="tiny", resolutions=["64x64"], steps=[2], warmup=0, repeats=1, min_duration_s=0.05,
                      compile=True, compile_backend="eager", device="cpu", out=str(tmp_path / "c"))
    out = run_speed(cfg, generator=gen)
    row = out["rows"][0]
    assert row["status"] == "ok" and row["compile"] is True
    rec = _jsonl(tmp_path / "c")[0]
    assert rec["measure_wall_s"] >= 0.05 and row["n"] == gen.calls[(64, 64, 2, 1)] - 1  # ran until min duration
    assert "compile_overhead_s" in rec and row["compile_overhead_s"] == rec["compile_overhead_s"]
    from lensbench.speed.output import format_table

    assert "compile s" in format_table(out["rows"], compiled=True)
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["speed"]["compile"]["module"] == "unet" and manifest["speed"]["compile"]["backend"] == "eager"
    assert gen.pipe.unet._compiled_call_impl is not None


def test_rewriter_is_timed_as_its_own_stage():
    from lensbench.rewriters import Rewriter
    from lensbench.speed.run import _Measurer
    from lensbench.speed.plan import SpeedPoint

    class Shout(Rewriter):
        name = "shout"

        def rewrite(self, prompts):
            return [p.upper() + "!" for p in prompts]

    gen = StandInGenerator()
    m = _Measurer(SpeedConfig(model="tiny", device="cpu", prompt="a cat"), MODELS.get("tiny"), gen, "cpu", Shout())
    m.tracker.install(gen.pipe)
    try:
        st = m.call(m.requests(SpeedPoint(64, 64, 2, 2)))
    finally:
        m.tracker.uninstall()
    assert gen.prompts == ["A CAT!", "A CAT!"]  # the rewritten prompts reached the generator
    assert st.rewrite_s is not None and st.rewrite_s > 0 and len(st.steps_s) == 2
    parts = [st.rewrite_s, st.text_encode_s, st.denoise_s, st.vae_decode_s, st.other_s]
    assert st.other_s >= 0 and math.fsum(parts) == pytest.approx(st.total_s)


def test_rewriter_cache_off_unless_asked():
    from lensbench.speed.run import speed_rewriter

    opts = {"model": "m", "base_url": "http://127.0.0.1:9"}
    assert speed_rewriter("openai", opts).use_cache is False  # warm calls must time rewrites, not cache hits
    assert speed_rewriter("openai", {**opts, "cache": True}).use_cache is True
    assert speed_rewriter("none", {}).name == "none"


def test_refuses_existing_run_dir(tmp_path):
    cfg = dict(model="tiny", resolutions=["64x64"], steps=[1], warmup=0, repeats=1, min_duration_s=0, device="cpu",
               out=str(tmp_path / "x"))
    run_speed(SpeedConfig(**cfg), generator=StandInGenerator())
    from lensbench.errors import UserError

    with pytest.raises(UserError, match="new --out"):
        run_speed(SpeedConfig(**cfg), generator=StandInGenerator())


@pytest.fixture(scope="module")
def tiny_gen():
    from lensbench.generators import make_generator

    gen = make_generator(MODELS.get("tiny"), LoadOptions(device="cpu", dtype="float32"))
    gen.load()
    return gen


@pytest.mark.slow
def test_tiny_stage_split_sums_to_total(tmp_path, tiny_gen):
    import torch

    threads = torch.get_num_threads()
    cfg = SpeedConfig(model="tiny", resolutions=["64x64"], steps=[3], warmup=1, repeats=2, min_duration_s=0.0,
                      device="cpu", threads=1, out=str(tmp_path / "t"))
    row = run_speed(cfg, generator=tiny_gen)["rows"][0]
    assert torch.get_num_threads() == threads  # restored
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert manifest["speed"]["torch_threads"] == 1
    assert manifest["generation"]["threads"] == 1  # contract 4, like generate's manifest (export reads it there)
    assert row["status"] == "ok" and row["n"] == 2 and row["rewrite_s"] is None
    for col in ("text_encode_s", "denoise_s", "vae_decode_s"):
        assert row[col] > 0, col
    assert row["other_s"] >= 0  # the measured stages never overlap
    total = math.fsum(row[c] or 0.0 for c in STAGE_COLS)
    assert total == pytest.approx(row["latency_mean_s"], rel=1e-6)
    assert row["other_s"] < 0.5 * row["latency_mean_s"]  # wrapped stages cover most of the call
    rec = _jsonl(tmp_path / "t")[0]
    for s in rec["samples"]:
        assert len(s["steps_s"]) == 3 and math.fsum(s["steps_s"]) == pytest.approx(s["denoise_s"])
    assert "encode_prompt" not in vars(tiny_gen.pipe) and "decode" not in vars(tiny_gen.pipe.vae)
    img = tiny_gen.generate([GenerationRequest("a cat", 1, 64, 64, 1, 5.0, "")])  # still a working generator
    assert img[0].size == (64, 64)


@pytest.mark.slow
def test_cli_speed_on_cpu(tmp_path):
    out = tmp_path / "cli"
    proc = run_cli("speed", "--model", "tiny", "--resolutions", "64x64", "--steps", "2", "--warmup", "1",
                   "--repeats", "2", "--min-duration", "0", "--device", "cpu", "--threads", "1", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "size (WxH)" in proc.stdout and "64x64" in proc.stdout and "measurements.csv" in proc.stdout
    fields, rows = _csv(out)
    assert tuple(fields) == COLUMNS and len(rows) == 1 and rows[0]["status"] == "ok" and rows[0]["n"] == "2"
    assert (out / "results" / "speed.json").exists() and (out / "manifest.json").exists()


def test_cli_invalid_resolution_suggests_nearest(tmp_path):
    proc = run_cli("speed", "--model", "tiny", "--resolutions", "100x60", "--out", str(tmp_path / "bad"))
    assert_user_error(proc, "nearest valid size: 96x64")
    proc2 = run_cli("speed", "--model", "tiny", "--preset", "buckets", "--resolutions", "64x64", "--out", str(tmp_path / "b"))
    assert_user_error(proc2, "either --resolutions or --preset")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


@pytest.mark.gpu
def test_gpu_cuda_events_agree_with_wall_clock_and_peaks_reset():
    if not _cuda():
        pytest.skip("needs CUDA")
    import time

    import torch

    from lensbench.timing.clock import CudaEventClock, Timeline
    from lensbench.timing.memory import MemoryTracker

    x = torch.randn(4096, 4096, device="cuda")
    tl = Timeline(CudaEventClock("cuda"))
    torch.cuda.synchronize()
    t = time.perf_counter()
    tl.mark("a")
    for _ in range(20):
        x = x @ x / 64
    tl.mark("b")
    marks = tl.resolve()  # synchronises
    wall = time.perf_counter() - t
    gpu = marks[1][1] - marks[0][1]
    assert 0 < gpu <= wall * 1.05 and gpu >= 0.5 * wall
    mem = MemoryTracker("cuda")
    mem.reset()
    big = torch.empty(256 * 2**20, dtype=torch.uint8, device="cuda")  # 0.25 GiB
    first = mem.read().peak_alloc_gb
    del big
    mem.reset()
    second = mem.read().peak_alloc_gb
    assert first >= 0.25 and second < first - 0.2


def test_speed_config_file_shares_run_fields_and_flags_override(tmp_path):
    """`lensbench speed --config` reads SpeedConfig fields (the model/sampling ones shared with RunConfig, via
    lensbench.config.ModelSettings) and given flags win, like `generate --config`."""
    from lensbench.config import ModelSettings, RunConfig
    from tests.helpers import run_cli_inprocess

    shared = {f for f in ModelSettings.__dataclass_fields__}
    assert {"model", "seed", "guidance", "dtype", "device", "rewriter", "model_path"} <= shared
    assert shared <= set(SpeedConfig.__dataclass_fields__) and shared <= set(RunConfig.__dataclass_fields__)
    cfg = tmp_path / "speed.toml"
    cfg.write_text('model = "tiny"\nresolutions = ["64x64"]\nsteps = [3]\nwarmup = 0\nrepeats = 1\n'
                   'min_duration_s = 0.0\ndevice = "cpu"\nthreads = 1\nseed = 7\n')
    out = tmp_path / "s"
    p = run_cli_inprocess("speed", "--config", str(cfg), "--steps", "2", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["rows"]
    assert [(r["width"], r["height"], r["steps"], r["status"]) for r in rows] == [(64, 64, 2, "ok")]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["speed"]["config"]["seed"] == 7 and manifest["speed"]["config"]["resolutions"] == ["64x64"]
    bad = tmp_path / "bad.toml"
    bad.write_text('warmup = "3"\n')
    assert_user_error(run_cli_inprocess("speed", "--config", str(bad), "--out", str(tmp_path / "b")),
                      "warmup", str(bad))
    bad.write_text('stepz = [2]\n')
    assert_user_error(run_cli_inprocess("speed", "--config", str(bad), "--out", str(tmp_path / "b")),
                      "unknown config keys ['stepz']")
