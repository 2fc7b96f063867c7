"""Ablation overheads: rendering GenEval in four languages, the paired GenEval delta, the image cache round trip.

Run: pytest tests/benchmarks/test_ablation_bench.py -m benchmark
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lensbench.ablation.cache import ImageCache
from lensbench.ablation.paired import PAIRED_SPECS, paired_deltas
from lensbench.store.atomic import write_image_atomic
from lensbench.store.run_store import RunStore
from lensbench.suites.geneval_i18n import LANGUAGES, render

pytestmark = pytest.mark.benchmark


@pytest.fixture(scope="module")
def records(shared_data):
    path = shared_data / "geneval" / "evaluation_metadata.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_render_all_languages(benchmark, records):
    out = benchmark(lambda: [render(r, lang) for lang in LANGUAGES for r in records])
    assert len(out) == 553 * 4


def test_paired_geneval_delta_553_prompts(benchmark, records):
    rng = np.random.default_rng(0)
    ids = [f"{i:05d}" for i in range(len(records))]
    cats = {i: r["tag"] for i, r in zip(ids, records)}
    t = {i: float(v) for i, v in zip(ids, rng.integers(0, 5, len(ids)) / 4)}
    c = {i: float(v) for i, v in zip(ids, rng.integers(0, 5, len(ids)) / 4)}
    rows = benchmark(paired_deltas, t, c, PAIRED_SPECS["geneval"], categories=cats)
    assert len(rows) == 7  # overall + 6 tags


def test_cache_put_and_import_100_images(benchmark, tmp_path):
    from PIL import Image

    src = RunStore(tmp_path / "src")
    recs = []
    for i in range(100):
        rel = f"img/{i:04d}.png"
        sha, n = write_image_atomic(src.path(rel), Image.new("RGB", (256, 256), (i, 2 * i % 256, 7)))
        recs.append({"key": f"{i:032x}", "status": "ok", "image": rel, "sha256": sha, "bytes": n})
    rounds = iter(range(1000))

    def round_trip():
        k = next(rounds)
        cache = ImageCache(tmp_path / f"cache{k}")
        for r in recs:
            cache.put(src.run_dir, r)
        dst = RunStore(tmp_path / f"dst{k}")
        dst.run_dir.mkdir(parents=True)
        return sum(cache.import_into(dst, r["key"], r["image"]) is not None for r in recs)

    assert benchmark.pedantic(round_trip, rounds=3, iterations=1) == 100
