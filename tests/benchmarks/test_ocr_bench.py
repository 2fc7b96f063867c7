"""OCR scoring throughput with the real rapidocr model: 100 images at 512x512, batched vs one at a time.

Run: pytest tests/benchmarks/test_ocr_bench.py -m benchmark -s
Each test scores the same 100 rendered images (3–4 text lines each) through `TextScorer.score_batch` with the
cache off (PNG decode + OCR + metrics): one image per call with rapidocr's own per-image API, then 16 images
per call with cross-image recognition batching. A third test re-scores from the OCR cache. Images/s is printed
and stored in the benchmark's extra_info.
"""

from __future__ import annotations

import json
import random

import pytest

from lensbench.scorers.ocr.scorer import TextScorer
from lensbench.store.atomic import write_image_atomic
from lensbench.suites import load_suite

pytest.importorskip("rapidocr_onnxruntime")
pytestmark = pytest.mark.benchmark
N_IMAGES, SIZE, BATCH = 100, 512, 16
WORDS = ("open fresh bread daily market coffee book night city river garden station north grand hotel museum "
         "sale today welcome library exit gate platform pharmacy bakery").split()


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    from PIL import Image, ImageDraw

    from tests.integration.test_ocr_real import _font

    rng = random.Random(0)
    run = tmp_path_factory.mktemp("ocr_bench")
    font = _font(size=36)
    rows, lines_of = [], {}
    for i in range(N_IMAGES):
        lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 3))).title() for _ in range(rng.randint(3, 4))]
        lines_of[f"b{i:03d}"] = lines
        rows.append({"id": f"b{i:03d}", "language": "en", "category": "sign", "prompt": " ".join(f'"{x}"' for x in lines),
                     "targets": lines})
    (run / "suite.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    suite = load_suite("text", options={"path": str(run / "suite.jsonl")})
    records = []
    for item in suite.items():
        img = Image.new("RGB", (SIZE, SIZE), "white")
        draw = ImageDraw.Draw(img)
        for k, text in enumerate(lines_of[item.id]):
            draw.text((20, 30 + 115 * k), text, font=font, fill="black")
        rel = suite.image_relpath(item, 0)
        sha, _ = write_image_atomic(run / rel, img)
        records.append({"key": item.id, "item_id": item.id, "index": 0, "image": rel, "sha256": sha, "status": "ok"})
    return run, suite, records


def _throughput(benchmark, fn, label):
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    if benchmark.stats is None:  # --benchmark-disable: ran once as a plain test, nothing timed
        return None
    ips = N_IMAGES / benchmark.stats.stats.mean
    benchmark.extra_info["images_per_s"] = round(ips, 3)
    print(f"\n{label}: {ips:.2f} images/s ({benchmark.stats.stats.mean:.1f} s for {N_IMAGES} images at {SIZE} px)")
    return ips


def _warm(scorer, run, units):
    scorer.score_batch(run, units[:1])  # model load + first-call allocation, outside the timing


def test_ocr_one_image_at_a_time(benchmark, bench_run):
    run, suite, records = bench_run
    scorer = TextScorer({"cache": False, "batch_mode": "per_image"})
    units = scorer.units(suite, records)
    _warm(scorer, run, units)
    out = []
    _throughput(benchmark, lambda: out.extend(r for u in units for r in scorer.score_batch(run, [u])),
                "one at a time (per_image)")
    assert len(out) == N_IMAGES
    print(f"  word accuracy of the renders: {sum(r['word_correct'] for r in out) / sum(r['word_total'] for r in out):.3f}")


def test_ocr_batched(benchmark, bench_run):
    run, suite, records = bench_run
    scorer = TextScorer({"cache": False, "batch_mode": "cross_image"})
    units = scorer.units(suite, records)
    _warm(scorer, run, units)
    out = []
    _throughput(benchmark, lambda: out.extend(r for i in range(0, N_IMAGES, BATCH)
                                              for r in scorer.score_batch(run, units[i:i + BATCH])),
                f"batched ({BATCH} per call, cross_image)")
    assert len(out) == N_IMAGES
    print(f"  word accuracy of the renders: {sum(r['word_correct'] for r in out) / sum(r['word_total'] for r in out):.3f}")


def test_rescore_from_cache(benchmark, bench_run):
    run, suite, records = bench_run
    TextScorer({"batch_mode": "cross_image"}).score_batch(run, TextScorer().units(suite, records))  # fill cache
    scorer = TextScorer({"batch_mode": "cross_image", "join_words": True})
    units = scorer.units(suite, records)
    out = []
    _throughput(benchmark, lambda: out.extend(r for i in range(0, N_IMAGES, BATCH)
                                              for r in scorer.score_batch(run, units[i:i + BATCH])),
                "re-score from the OCR cache")
    assert scorer.ocr_calls == 0 and len(out) == N_IMAGES
