"""Batched GenEval scoring vs a per-image loop on the same tiny models (CPU).

Run: pytest tests/benchmarks/test_geneval_bench.py -m benchmark -s
The ratio (per-image / batched) is printed by test_geneval_batched_vs_loop_ratio."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

pytestmark = pytest.mark.benchmark

N_IMAGES = 16


@pytest.fixture(scope="module")
def setup(tmp_path_factory, shared_data):
    from PIL import Image

    from lensbench.scorers.base import ScoreUnit
    from lensbench.scorers.geneval.scorer import GenEvalScorer
    from lensbench.suites.geneval import GenEvalSuite, items_from_records

    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("bench")
    mp.setenv("LENSBENCH_CACHE", str(root / "cache"))
    records = [json.loads(x) for x in (shared_data / "geneval" / "evaluation_metadata.jsonl").read_text().splitlines()]
    wanted = [r for r in records if {c["class"] for c in r["include"]} & {"dog", "cat", "car"}][:N_IMAGES // 2]
    suite = GenEvalSuite(items_from_records(wanted))
    rng = np.random.default_rng(0)
    units = []
    for item in suite.items():
        for k in range(2):
            rel = suite.image_relpath(item, k)
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(root / rel)
            units.append(ScoreUnit(key=rel, item=item, images=(rel,), info={"index": k}))
    scorer = GenEvalScorer({"detector": "tiny", "clip": "tiny", "tiny_labels": "dog,cat,car", "results": "0"})
    scorer.load()
    scorer.score_batch(root, units[:2])  # warm-up
    yield scorer, root, units
    mp.undo()


def batched(scorer, root, units):
    return scorer.score_batch(root, units)


def per_image(scorer, root, units):
    return [rec for u in units for rec in scorer.score_batch(root, [u])]


def test_geneval_batched(benchmark, setup):
    scorer, root, units = setup
    recs = benchmark.pedantic(batched, args=(scorer, root, units), rounds=5, iterations=1)
    assert len(recs) == N_IMAGES


def test_geneval_per_image_loop(benchmark, setup):
    scorer, root, units = setup
    recs = benchmark.pedantic(per_image, args=(scorer, root, units), rounds=5, iterations=1)
    assert len(recs) == N_IMAGES


def test_geneval_batched_vs_loop_ratio(setup):
    scorer, root, units = setup
    a = batched(scorer, root, units)
    b = per_image(scorer, root, units)
    assert [(r["correct"], r["reason"]) for r in a] == [(r["correct"], r["reason"]) for r in b]
    times = {"batched": [], "per_image": []}
    for _ in range(5):
        for name, fn in (("batched", batched), ("per_image", per_image)):
            t = time.perf_counter()
            fn(scorer, root, units)
            times[name].append(time.perf_counter() - t)
    med = {k: float(np.median(v)) for k, v in times.items()}
    n_crops = sum(len(c["colors"]) for r in a for c in r["colors"])
    print(f"\nGenEval tiny CPU, {N_IMAGES} images 64px, {n_crops} colour crops: batched {med['batched']:.3f} s, "
          f"per-image {med['per_image']:.3f} s, ratio {med['per_image'] / med['batched']:.2f}x")
