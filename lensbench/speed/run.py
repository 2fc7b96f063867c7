"""The speed runner: latency, throughput and memory per (size, steps, batch), split by stage.

Python API: ``run_speed(SpeedConfig(...))``; ``lensbench speed`` calls exactly this. Per configuration:
flush (gc, empty_cache, peak-memory reset, torch.compiler.reset() when compiling) → one cold call (kept
apart) → `warmup` calls → measured calls until both `repeats` calls and `min_duration_s` seconds → one CSV row
and one JSONL record. A CUDA out-of-memory error makes an ``oom`` row (larger batches of the same size and
steps are then skipped as ``oom`` too) and the sweep goes on; any other exception makes an ``error`` row.
Timing: CUDA events with one synchronisation per call on GPU, perf_counter on CPU (lensbench.timing).
"""

from __future__ import annotations

import gc
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import lensbench
from lensbench.config import ModelSettings
from lensbench.dist import DistContext
from lensbench.errors import UserError
from lensbench.generators import MODELS, GenerationRequest, Generator, LoadOptions, make_generator
from lensbench.generators.weights import model_provenance
from lensbench.rewriters import make_rewriter
from lensbench.speed import output as so
from lensbench.speed.plan import SpeedPoint, build_points, explicit_sizes, parse_int_list, preset_sizes
from lensbench.speed.published import compare
from lensbench.store import manifest as mf
from lensbench.store.results import RunResults, write_results
from lensbench.store.run_store import RunStore
from lensbench.timing.clock import make_clock
from lensbench.timing.loop import check_loop_settings, measure
from lensbench.timing.memory import MemoryTracker
from lensbench.timing.stages import StageTracker
from lensbench.util.device import is_oom, resolve_device

DEFAULT_PROMPT = "a photo of a red fox sitting in a snowy forest at sunrise, detailed fur, soft natural light"


@dataclass
class SpeedConfig(ModelSettings):
    """What to time. The model, sampling and loading fields (model, seed, guidance, negative_prompt, dtype,
    model_options, rewriter(_options), model_path, revision, device, offload, trust_remote_code, progress)
    are `lensbench.config.ModelSettings`, shared with RunConfig; `from_file` reads a TOML/JSON file of them."""

    resolutions: list[str] | str | None = None  # "WxH" or preset names of the model; None: preset or model default
    preset: str | None = None  # megapixel-ladder | aspect-sweep | buckets
    base_side: int | None = None  # the 1× side of the presets (default: 1024, see lensbench.speed.plan)
    snap: bool = False  # replace invalid explicit sizes by the nearest valid one instead of failing
    steps: list[int] | str | None = None  # None: the model's recommended steps
    batch_sizes: list[int] | str = field(default_factory=lambda: [1])
    warmup: int = 3  # calls after the cold call, not recorded
    repeats: int = 10  # measured calls, at least ...
    min_duration_s: float = 10.0  # ... and at least this many seconds of measured calls
    max_calls: int | None = None  # cap on measured calls (guard for very fast configurations)
    compile: bool = False  # torch.compile the denoiser (transformer / unet)
    compile_mode: str | None = None  # e.g. "max-autotune"
    compile_backend: str = "inductor"
    threads: int | None = None  # torch intra-op threads during the run (CPU timing on a shared machine: 1)
    out: str = "runs/speed"
    prompt: str = DEFAULT_PROMPT

    def __post_init__(self) -> None:
        super().__post_init__()
        check_loop_settings(self.warmup, self.repeats, self.min_duration_s, self.max_calls)
        if isinstance(self.resolutions, str):
            self.resolutions = self.resolutions.split(",")
        if self.resolutions and self.preset:
            raise UserError("give either --resolutions or --preset, not both")
        if self.threads is not None and self.threads < 1:
            raise UserError(f"--threads must be at least 1, got {self.threads}")
        self.steps = parse_int_list(self.steps, "--steps")
        self.batch_sizes = parse_int_list(self.batch_sizes, "--batch-sizes") or [1]


def plan_points(cfg: SpeedConfig, spec) -> list[SpeedPoint]:
    if cfg.preset:
        sizes = preset_sizes(spec, cfg.preset, cfg.base_side)
    elif cfg.resolutions:
        sizes = explicit_sizes(spec, cfg.resolutions, snap=cfg.snap)
    else:
        sizes = [(spec.defaults.height, spec.defaults.width, "model default")]
    return build_points(sizes, cfg.steps or [spec.defaults.steps], cfg.batch_sizes)


def speed_rewriter(name: str, options: dict[str, Any], trust_remote_code: bool = False):
    """The rewriter to time. Its on-disk rewrite cache is off unless `cache` is given explicitly: warm calls
    would otherwise time cache hits instead of rewrites."""
    r = make_rewriter(name, options, trust_remote_code=trust_remote_code)
    if getattr(r, "use_cache", False) and "cache" not in options:
        r = make_rewriter(name, {**options, "cache": False}, trust_remote_code=trust_remote_code)
    return r


def device_label(device: str) -> str:
    """GPU name on CUDA (so published devices can be matched), else the device string."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return device


def compile_denoiser(gen: Generator, mode: str | None, backend: str) -> dict[str, Any]:
    pipe = gen.pipeline()
    name = next((n for n in ("transformer", "unet") if getattr(pipe, n, None) is not None), None)
    if name is None:
        raise UserError(f"--compile needs a pipeline with a transformer or unet; {gen.spec.name} has none here")
    t = time.perf_counter()
    getattr(pipe, name).compile(mode=mode, backend=backend)
    return {"module": name, "mode": mode, "backend": backend, "wrap_s": time.perf_counter() - t,
            "note": "compilation happens lazily in the first call of each configuration (its cold_s)"}


class _Measurer:
    """Measures one configuration at a time with one loaded generator."""

    def __init__(self, cfg: SpeedConfig, spec, gen: Generator, device: str, rewriter):
        self.cfg, self.spec, self.gen, self.rewriter = cfg, spec, gen, rewriter
        self.tracker = StageTracker(make_clock(device))
        self.memory = MemoryTracker(device)
        self.rewrite_on = rewriter.name != "none"
        if self.rewrite_on:
            self.tracker.observed.add("rewrite")

    def requests(self, p: SpeedPoint) -> list[GenerationRequest]:
        d = self.spec.defaults
        guidance = float(self.cfg.guidance if self.cfg.guidance is not None else d.guidance)
        negative = self.cfg.negative_prompt if self.cfg.negative_prompt is not None else d.negative_prompt
        return [GenerationRequest(prompt=self.cfg.prompt, seed=self.cfg.seed + i, height=p.height, width=p.width,
                                  steps=p.steps, guidance=guidance, negative_prompt=negative)
                for i in range(p.batch_size)]

    def call(self, reqs: list[GenerationRequest]):
        tr = self.tracker
        tr.begin()
        try:
            if self.rewrite_on:
                with tr.stage("rewrite"):
                    sent = self.rewriter.rewrite([r.prompt for r in reqs])
                reqs = [r if s == r.prompt else replace(r, prompt=s) for r, s in zip(reqs, sent)]
            self.gen.generate(reqs, step_callback=tr.step_callback)
        except BaseException:
            tr.abort()
            raise
        return tr.end()

    def run(self, p: SpeedPoint):
        reqs = self.requests(p)
        self.gen.validate(reqs)
        self.memory.reset(compiler=self.cfg.compile)
        res = measure(lambda: self.call(reqs), warmup=self.cfg.warmup, repeats=self.cfg.repeats,
                      min_duration_s=self.cfg.min_duration_s, max_calls=self.cfg.max_calls)
        return res, self.memory.read()


def _load(cfg: SpeedConfig, spec, device: str, dtype: str) -> Generator:
    return make_generator(spec, LoadOptions(model_path=cfg.model_path, device=device, dtype=dtype, offload=cfg.offload,
                                            trust_remote_code=cfg.trust_remote_code, revision=cfg.revision,
                                            options=dict(cfg.model_options)))


def _manifest(cfg: SpeedConfig, spec, device: str, dtype: str, points: list[SpeedPoint]) -> dict[str, Any]:
    return {
        "schema_version": 1, "kind": "speed",
        "run_id": f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}",
        "lensbench_version": lensbench.__version__, "command": mf.command_line(), "started": mf.utc_now(),
        "finished": None, "git": mf.git_info(),
        "model": {"name": spec.name, "repo_id": spec.repo_id, "model_path": cfg.model_path, "params_b": spec.params_b,
                  "family": spec.family, "licence": spec.licence, "adapter": spec.adapter,
                  **model_provenance(spec, cfg.model_path, cfg.revision, [(p.height, p.width) for p in points])},
        "generation": {"dtype": dtype, "device": device, "offload": cfg.offload, "seed": cfg.seed, "prompt": cfg.prompt,
                       "guidance": cfg.guidance if cfg.guidance is not None else spec.defaults.guidance,
                       "negative_prompt": cfg.negative_prompt if cfg.negative_prompt is not None
                       else spec.defaults.negative_prompt, "rewriter": cfg.rewriter, "noise_device": "cpu"},
        "speed": {"config": cfg.to_dict(), "points": [asdict(p) for p in points],
                  "timer": make_clock(device).name,
                  "latency_unit": "seconds per pipeline call (batch_size images), warm calls only"},
        "environment": mf.environment(device),
    }


def run_speed(cfg: SpeedConfig, *, generator: Generator | None = None, echo=None) -> dict[str, Any]:
    """Measure every configuration of `cfg`; returns {run_dir, rows, published, ...}. `generator`: an
    already-built Generator (tests, benchmarks); `echo`: a function that prints progress lines."""
    import torch

    from lensbench.generators.loading import resolve_dtype_name

    if DistContext.from_env().world_size > 1:
        raise UserError("lensbench speed measures one device per process; run it without torchrun "
                        "(one process per GPU with --device cuda:N and its own --out)")
    spec = MODELS.get(cfg.model)
    points = plan_points(cfg, spec)
    rewriter = speed_rewriter(cfg.rewriter, cfg.rewriter_options, cfg.trust_remote_code)
    device = resolve_device(cfg.device)
    dtype = resolve_dtype_name(spec, cfg.dtype, device)
    store = RunStore(cfg.out)
    for existing in (store.manifest_path, store.run_dir / so.CSV_PATH):
        if existing.exists():
            raise UserError(f"{store.run_dir} already holds a run ({existing.name}); speed runs are not resumed, "
                            "pass a new --out")
    say = echo or (lambda _msg: None)
    threads_before = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(cfg, spec, points, rewriter, device, dtype, store, generator, say)
    finally:
        torch.set_num_threads(threads_before)


def _run(cfg: SpeedConfig, spec, points, rewriter, device: str, dtype: str, store: RunStore, generator, say):
    import torch

    with store.locked():
        manifest = _manifest(cfg, spec, device, dtype, points)
        manifest["speed"]["torch_threads"] = torch.get_num_threads()
        manifest["generation"]["threads"] = manifest["speed"]["torch_threads"]  # contract 4, as in generate's
        manifest["speed"]["rewriter"] = {**rewriter.identity(), "cache": getattr(rewriter, "use_cache", None)}
        t = time.perf_counter()
        gen = generator
        if gen is None:
            gen = _load(cfg, spec, device, dtype)
            gen.load()
        manifest["speed"]["load_s"] = time.perf_counter() - t
        manifest["generator"] = gen.info()
        if cfg.compile:
            manifest["speed"]["compile"] = compile_denoiser(gen, cfg.compile_mode, cfg.compile_backend)
        label = device_label(device)
        m = _Measurer(cfg, spec, gen, device, rewriter)
        manifest["speed"]["instrumented"] = m.tracker.install(gen.pipeline())
        store.write_manifest(manifest)
        rows: list[dict[str, Any]] = []
        oom_at: dict[tuple[int, int, int], int] = {}
        try:
            for i, p in enumerate(points, 1):
                say(f"[{i}/{len(points)}] {p.size} steps={p.steps} batch={p.batch_size}")
                rows.append(_measure_point(store.run_dir, m, p, spec.name, label, dtype, cfg.compile, oom_at))
                so.write_csv(store.run_dir, rows)
        finally:
            m.tracker.uninstall()
        published = compare(spec.name, label, rows)
        head = (spec.defaults.height, spec.defaults.width, spec.defaults.steps)
        _write_results(store, manifest, rows, head, published)
        manifest["finished"] = mf.utc_now()
        manifest["speed"]["statuses"] = {s: sum(r["status"] == s for r in rows) for s in ("ok", "oom", "error")}
        store.write_manifest(manifest)
    return {"run_dir": str(store.run_dir), "rows": rows, "published": published, "points": len(points),
            "load_s": manifest["speed"]["load_s"], "instrumented": manifest["speed"]["instrumented"],
            "csv": str(store.run_dir / so.CSV_PATH)}


def _measure_point(run_dir: Path, m: _Measurer, p: SpeedPoint, model: str, label: str, dtype: str,
                   compiled: bool, oom_at: dict) -> dict[str, Any]:
    key = (p.height, p.width, p.steps)
    if key in oom_at:
        row = so.base_row(model, label, dtype, compiled, p, "oom")
        so.append_jsonl(run_dir, so.raw_record(row, p, note=f"skipped: batch {oom_at[key]} already ran out of memory"))
        return row
    failure: tuple[str, str, str | None] | None = None
    try:
        res, mem = m.run(p)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - one configuration failing must not end the sweep
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        oom = is_oom(exc)
        failure = ("oom" if oom else "error", f"{type(exc).__name__}: {text}",
                   None if oom else traceback.format_exc(limit=8))
    if failure is not None:  # outside the except block, so the traceback (and its tensors) can be freed
        status, msg, tb = failure
        if status == "oom":
            oom_at[key] = p.batch_size
        gc.collect()
        mem = m.memory.read()
        m.memory.reset(compiler=compiled)
        row = so.base_row(model, label, dtype, compiled, p, status)
        row.update(peak_alloc_gb=mem.peak_alloc_gb, peak_reserved_gb=mem.peak_reserved_gb, rss_gb=mem.rss_gb)
        so.append_jsonl(run_dir, so.raw_record(row, p, mem=mem, error=msg, traceback=tb))
        return row
    row = so.ok_row(so.base_row(model, label, dtype, compiled, p, "ok"), p, res.cold, res.samples, mem)
    extra: dict[str, Any] = {"warmup_calls": res.warmup_calls, "calls": res.calls, "measure_wall_s": res.measure_wall_s}
    if compiled:
        extra["compile_overhead_s"] = row["compile_overhead_s"] = res.cold.total_s - row["latency_p50_s"]
    so.append_jsonl(run_dir, so.raw_record(row, p, cold=res.cold, samples=res.samples, mem=mem, **extra))
    return row


def _write_results(store: RunStore, manifest: dict, rows: list[dict], head, published: dict) -> None:
    write_results(store.result_path("speed"), RunResults(  # the one results dataclass (lensbench.store.results)
        run_id=manifest["run_id"], scorer="speed", suite={"name": "speed"}, scorer_version="1",
        settings={k: manifest["speed"]["config"][k] for k in (
            "warmup", "repeats", "min_duration_s", "max_calls", "compile", "compile_mode", "dtype", "offload", "prompt")}
        | {"timer": manifest["speed"]["timer"], "latency_unit": manifest["speed"]["latency_unit"]},
        model=manifest["model"], created=mf.utc_now(), metrics=list(so.result_metrics(rows, head)),
        extra={"published_latency": published, "device": rows[0]["device"] if rows else None}))
