"""Speed-suite benchmarks on the tiny model (CPU) plus CPU-side hot paths of scoring and aggregation.

Run alone: pytest tests/benchmarks/test_speed_bench.py -m benchmark
- generation at 64² and 128x64 (WxH), as a bare pipeline call and as lensbench's measured call (stage tracker
  installed), same loaded pipeline and arguments;
- the harness overhead ratio (lensbench's reported latency / bare call; goal <= 1.02), recorded in extra_info;
- bootstrap CI over 1,000 values, RunStore.records over 10,000 records, Latency summary of 10,000 samples,
  and the stage split of a 50-step call.
"""

from __future__ import annotations

import random

import pytest

from lensbench.generators import MODELS, GenerationRequest, LoadOptions, make_generator
from lensbench.speed.run import SpeedConfig, _Measurer
from lensbench.rewriters import make_rewriter

pytestmark = pytest.mark.benchmark
SIZES = {"64x64": (64, 64), "128x64": (64, 128)}  # WxH -> (height, width)
STEPS = 2


@pytest.fixture(scope="module")
def tiny():
    """The tiny model with one intra-op thread: on a shared 2-core machine, torch's default thread pool
    oversubscribes the cores and single calls vary 10-100x; one thread keeps the timings comparable."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    gen = make_generator(MODELS.get("tiny"), LoadOptions(device="cpu", dtype="float32"))
    gen.load()
    yield gen
    torch.set_num_threads(threads)


def _requests(h: int, w: int) -> list[GenerationRequest]:
    return [GenerationRequest("a photo of a red fox in the snow", 42, h, w, STEPS, 5.0, "")]


@pytest.mark.parametrize("size", list(SIZES))
def test_bench_tiny_bare_pipeline(benchmark, tiny, size):
    import torch

    reqs = _requests(*SIZES[size])

    def bare():
        with torch.inference_mode():
            return tiny.pipe(**tiny.call_kwargs(reqs))

    out = benchmark.pedantic(bare, rounds=5, warmup_rounds=1)
    assert len(out.images) == 1


@pytest.mark.parametrize("size", list(SIZES))
def test_bench_tiny_lensbench_call(benchmark, tiny, size):
    m = _Measurer(SpeedConfig(model="tiny", device="cpu"), MODELS.get("tiny"), tiny, "cpu", make_rewriter("none"))
    m.tracker.install(tiny.pipe)
    reqs = _requests(*SIZES[size])
    try:
        st = benchmark.pedantic(lambda: m.call(reqs), rounds=5, warmup_rounds=1)
    finally:
        m.tracker.uninstall()
    assert st.text_encode_s > 0 and len(st.steps_s) == STEPS


def test_bench_harness_overhead(benchmark, tiny):
    from lensbench.speed.overhead import harness_overhead

    res = benchmark.pedantic(harness_overhead, args=(tiny, _requests(64, 64)), kwargs={"rounds": 40, "warmup": 3},
                             rounds=1, iterations=1)
    keys = ("ratio", "overhead_pct", "ratio_min", "paired_ratio_median", "bare_median_s", "lensbench_median_s",
            "instrumentation_s", "instrumentation_pct", "rounds")
    benchmark.extra_info.update({k: res[k] for k in keys})
    print(f"\nharness overhead: median ratio {res['ratio']:.4f} ({res['overhead_pct']:+.2f}%), min ratio "
          f"{res['ratio_min']:.4f}, paired median ratio {res['paired_ratio_median']:.4f}; bare median "
          f"{res['bare_median_s'] * 1e3:.1f} ms; tracker bookkeeping {res['instrumentation_s'] * 1e6:.1f} us/call "
          f"({res['instrumentation_pct']:.3f}%)")
    assert res["rounds"] == 40 and len(res["bare_s"]) == len(res["lensbench_s"]) == 40


def test_bench_bootstrap_ci(benchmark):
    from lensbench.stats import bootstrap_ci

    rng = random.Random(0)
    vals = [rng.random() for _ in range(1000)]
    lo, hi = benchmark(bootstrap_ci, vals)
    assert lo < sum(vals) / len(vals) < hi


@pytest.fixture(scope="module")
def store_10k(tmp_path_factory):
    from lensbench.store.run_store import RunStore

    store = RunStore(tmp_path_factory.mktemp("records"))
    path = store.stream_path("generate")
    path.parent.mkdir(parents=True)
    import json

    with open(path, "w") as fh:  # written directly: 10k fsynced appends would benchmark the disk, not the reader
        for i in range(10_000):
            fh.write(json.dumps({"key": f"k{i:05d}", "status": "ok", "item_id": f"p{i // 4}", "index": i % 4,
                                 "prompt": "a photo of a cat " * 4, "seed": 42 + i % 4, "image": f"images/{i}.png",
                                 "latency_s": 0.1}) + "\n")
    return store


def test_bench_runstore_records_10k(benchmark, store_10k):
    recs = benchmark(store_10k.records, "generate")
    assert len(recs) == 10_000


def test_bench_latency_summary_10k(benchmark):
    from lensbench.timing.measures import Latency

    rng = random.Random(1)
    vals = [rng.uniform(0.5, 1.5) for _ in range(10_000)]
    s = benchmark(lambda: Latency.from_values(vals).summary())
    assert s["count"] == 10_000


def test_bench_split_stages_50_steps(benchmark):
    from lensbench.timing.stages import split_stages

    marks = [("call>", 0.0), ("text_encode>", 0.01), ("text_encode<", 0.1)]
    marks += [("step", 0.1 + 0.02 * (i + 1)) for i in range(50)]
    marks += [("vae_decode>", 1.2), ("vae_decode<", 1.3), ("call<", 1.35)]
    st = benchmark(split_stages, marks, {"text_encode", "vae_decode", "denoise"})
    assert len(st.steps_s) == 50
