"""DPG-Bench scoring overhead at full benchmark size (1,065 prompts, ~13.5 questions each, 4 tiles).

Run: pytest tests/benchmarks/test_dpg_bench.py -m benchmark
Measures the parts lensbench adds around the VQA model: parsing a CSV of the official shape and size,
the official pure scoring of every grid, and the summary with bootstrap CIs (2,000 resamples per metric).
"""

from __future__ import annotations

import random

import pytest

from lensbench.scorers.dpg.official import score_item
from lensbench.scorers.dpg.questions import read_question_csv
from lensbench.scorers.dpg.summary import summarize_records
from tests.dpg_support import write_csv

pytestmark = pytest.mark.benchmark
N_ITEMS, TUPLES = 1065, ["entity - whole (x)", "attribute - color (x, red)", "relation - spatial (x, y, on)",
                         "global - (photo)", "other - count (x, ==2)"]  # fmt: skip


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory):
    rng = random.Random(0)
    rows = []
    for i in range(N_ITEMS):
        n = rng.randint(8, 19)
        for q in range(1, n + 1):
            deps = "0" if q <= 2 else ",".join(str(rng.randint(1, q - 1)) for _ in range(rng.randint(1, 2)))
            rows.append((f"item{i}", q, deps, rng.choice(TUPLES), f"Question {q} of item {i}?"))
    return write_csv(tmp_path_factory.mktemp("dpgbench") / "big.csv", rows=rows, texts={})


def test_parse_official_size_csv(benchmark, big_csv):
    table = benchmark(read_question_csv, big_csv, skip_first_row=False)
    assert len(table) == N_ITEMS


def test_score_and_summarize_all_prompts(benchmark, big_csv):
    table = read_question_csv(big_csv, skip_first_row=False)
    rng = random.Random(1)
    answers = {i: [{q: rng.choice(["yes", "no"]) for q in qs} for _ in range(4)] for i, qs in table.items.items()}

    def run():
        records = []
        for item_id, qs in table.items.items():
            item = score_item(qs, answers[item_id])
            records.append({"item_id": item_id, "status": "ok", "prompt_score": item.prompt_score, "questions": [
                {"category_l2": q.category_l2, "raw": [r[qid] for r in item.raw], "final": [f[qid] for f in item.final]}
                for qid, q in qs.items()]})  # fmt: skip
        return summarize_records(records)

    metrics = benchmark.pedantic(run, rounds=3, iterations=1)
    assert metrics[0].metric == "dpg" and metrics[0].n == N_ITEMS
