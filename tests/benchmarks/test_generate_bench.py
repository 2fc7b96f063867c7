"""Harness overhead of `lensbench generate` against a bare loop over the same tiny pipeline and prompts.

Run: pytest tests/benchmarks/test_generate_bench.py -m benchmark -s
Both sides use one already-loaded pipeline, the same prompts, seeds, batches, torch thread count (1, which is also
lensbench's default) and PNG encoding (Pillow, compress_level 6, no optimize: the same call the bare
`img.save(path)` makes). The lensbench side adds planning, sha256, atomic writes, durable (fsynced) images and
records and the manifest. Compare the two medians (target: lensbench / bare <= 1.05). lensbench hands each batch
to one background thread (lensbench.store.commit: encode, write, fsync, rename, records) while the next batch is
generated; the bare loop encodes and writes in line, without any fsync.
"""

from __future__ import annotations

import itertools

import pytest

from lensbench.config import RunConfig
from lensbench.generators import MODELS, LoadOptions, make_generator
from lensbench.runners.generate import prepare, run_generate

pytestmark = pytest.mark.benchmark

CFG = dict(model="tiny", suite="demo", device="cpu", steps=4, height=64, width=64, batch_size=2, images_per_prompt=2,
           progress=False)


@pytest.fixture(scope="module")
def loaded():
    import torch

    torch.set_num_threads(1)  # two threads on a shared 2-core host make single calls swing 0.1 s .. 10 s
    gen = make_generator(MODELS.get("tiny"), LoadOptions(device="cpu", dtype="float32"))
    gen.load()
    gen.generate([w.request for w in prepare(RunConfig(**CFG)).batches[0]])  # warm up
    return gen


def test_bench_lensbench_generate(benchmark, loaded, tmp_path):
    counter = itertools.count()

    def run():
        out = tmp_path / f"run{next(counter)}"
        s = run_generate(RunConfig(out=str(out), **CFG), generator=loaded)
        assert s["generated"] == 12

    benchmark.pedantic(run, rounds=9, warmup_rounds=2)


def test_bench_bare_loop(benchmark, loaded, tmp_path):
    batches = prepare(RunConfig(**CFG)).batches
    counter = itertools.count()

    def run():
        out = tmp_path / f"bare{next(counter)}"
        out.mkdir()
        n = 0
        for batch in batches:
            for w, img in zip(batch, loaded.generate([w.request for w in batch])):
                img.save(out / f"{w.item.id}_{w.index}.png")
                n += 1
        assert n == 12

    benchmark.pedantic(run, rounds=9, warmup_rounds=2)


def test_bench_overhead_ratio_interleaved(benchmark, loaded, tmp_path):
    """Both sides in every round, in alternating order (bare first, then lensbench first), so a shared host's
    drifting load and any after-effect of the other side hit them alike; the ratio lensbench / bare of the
    medians, and the median of the per-round ratios, go into the benchmark's extra_info (``--benchmark-json``)
    and are printed (``-s``)."""
    import statistics
    import time

    batches = prepare(RunConfig(**CFG)).batches
    counter = itertools.count()
    times: dict[str, list[float]] = {"bare": [], "lensbench": []}

    def bare(i: int) -> None:
        out = tmp_path / f"pair-bare{i}"
        out.mkdir()
        for batch in batches:
            for w, img in zip(batch, loaded.generate([w.request for w in batch])):
                img.save(out / f"{w.item.id}_{w.index}.png")

    def lensbench(i: int) -> None:
        s = run_generate(RunConfig(out=str(tmp_path / f"pair-lb{i}"), **CFG), generator=loaded)
        assert s["generated"] == 12

    def pair():
        i = next(counter)
        for name, fn in ((("bare", bare), ("lensbench", lensbench)) if i % 2 == 0 else
                         (("lensbench", lensbench), ("bare", bare))):
            t = time.perf_counter()
            fn(i)
            times[name].append(time.perf_counter() - t)

    rounds = 16
    benchmark.pedantic(pair, rounds=rounds, warmup_rounds=2)
    # warmup rounds are timed by pair() too: drop them (--benchmark-disable runs one round and no warmup)
    for name in times:
        del times[name][:max(0, len(times[name]) - rounds)]
    ratio = statistics.median(times["lensbench"]) / statistics.median(times["bare"])
    paired = statistics.median(lb / b for lb, b in zip(times["lensbench"], times["bare"]))
    benchmark.extra_info.update(median_ratio=round(ratio, 4), median_paired_ratio=round(paired, 4),
                                bare_median_s=round(statistics.median(times["bare"]), 4),
                                lensbench_median_s=round(statistics.median(times["lensbench"]), 4))
    print(f"\nlensbench generate / bare loop, median of interleaved rounds: {ratio:.3f} "
          f"(median of per-round ratios {paired:.3f})")
