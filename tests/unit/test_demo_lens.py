"""The demo includes tiny-lens exactly when the upstream `lens` package is importable (issue 14 item 6)."""

from __future__ import annotations

import sys

from lensbench.demo import DEMO_RUNS, demo_runs
from tests.lens_upstream import available, upstream_lens


def test_without_lens_the_demo_says_how_to_add_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "lens", None)  # find_spec raises ValueError / import fails: not importable
    runs, notes = demo_runs()
    assert runs == DEMO_RUNS
    assert len(notes) == 1 and "microsoft/Lens" in notes[0] and "PYTHONPATH" in notes[0] and "\n" not in notes[0]


def test_with_lens_the_demo_runs_tiny_lens():
    if not available():
        import pytest

        pytest.skip("the upstream `lens` package is not in ../shared/thirdparty")
    with upstream_lens():
        runs, notes = demo_runs()
    assert notes == [] and [r.config["model"] for r in runs if r.config.get("model")] == ["tiny-lens"]
