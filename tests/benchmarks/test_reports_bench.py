"""Report-building costs: loading/validating every baseline, and all published tables in four formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from lensbench.reports.baselines import load_baselines
from lensbench.reports.published_tables import published_tables
from lensbench.reports.tables import FORMATS, render

pytestmark = pytest.mark.benchmark
BASELINES = Path(__file__).resolve().parents[2] / "lensbench" / "baselines" / "data"


def test_bench_load_baselines(benchmark):
    b = benchmark(load_baselines, BASELINES)
    assert len(b.values) > 300


def test_bench_published_tables_all_formats(benchmark):
    b = load_baselines(BASELINES)

    def build():
        return [render(t, f) for t in published_tables(b) for f in FORMATS]

    out = benchmark(build)
    assert len(out) == 11 * len(FORMATS)
