"""Issue 12 acceptance: "add a suite and its scorer" followed in a test. A toy suite and a toy scorer defined in
this file alone (registered with one line each, at runtime) appear in `lensbench score`, in `report` tables and
in ablation paired deltas, with no edit anywhere else in lensbench.

The steps of the guide (docs/DEVELOPING.md):
1. a `Suite` subclass (items with categories; `default_scorer`) and a factory ``(source, options) -> Suite``;
2. a `Scorer` subclass: ``Options`` (a frozen dataclass: typed ``-O`` options), ``metrics_meta`` (display name,
   unit, direction of each metric), ``paired_rule`` (how ablation deltas are built from per-unit records),
   `score_batch` (one record per unit), pure `summarize`, `fingerprint` (what decides a record), `protocol`;
3. ``SUITES.register(name, factory)`` and ``SCORERS.register(name, ScorerClass)``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lensbench.scorers import SCORERS
from lensbench.scorers.base import MetricMeta, PairedRule, ProtocolInfo, Scorer, ScoreUnit
from lensbench.store.results import MetricValue
from lensbench.suites import SUITES
from lensbench.suites.base import PromptItem, Suite
from tests.helpers import assert_user_error, run_cli_inprocess

pytestmark = pytest.mark.slow


# -- 1. the suite --------------------------------------------------------------------------------------------------
class ToySuite(Suite):
    name = "toy-bright"
    version = "1"
    default_images_per_prompt = 1
    default_scorer = "toy-bright"


def toy_suite(source: str | None, options: dict[str, Any]) -> ToySuite:
    colours = ["a red square", "a white page", "a black cat at night", "a yellow sun"]
    items = [PromptItem(id=f"t{i}", prompt=p, category="dark" if "black" in p else "light") for i, p in enumerate(colours)]
    return ToySuite(items, source="toy", options=options)


# -- 2. the scorer -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToyOptions:
    threshold: float = 100.0  # mean brightness (0-255) above which an image counts as "bright"


class ToyScorer(Scorer):
    name = "toy-bright"
    version = "1"
    batch_size = 2
    Options = ToyOptions
    metrics_meta = {"bright": MetricMeta("Toy brightness", unit="fraction", decimals=2)}
    paired_rule = PairedRule("bright", "mean", field="bright")

    def __init__(self, options: dict[str, Any] | None = None):
        self.options = self.parse(options)

    def fingerprint(self) -> dict[str, Any]:
        return {"scorer": self.name, "version": self.version, "threshold": self.options.threshold}

    def protocol(self) -> ProtocolInfo:
        return ProtocolInfo(backend="mean pixel", deviations=("toy benchmark: no official protocol",))

    def score_batch(self, run_dir, units: Sequence[ScoreUnit]) -> list[dict[str, Any]]:
        import numpy as np
        from PIL import Image

        out = []
        for u in units:
            with Image.open(Path(run_dir) / u.images[0]) as im:
                mean = float(np.asarray(im.convert("L"), dtype=np.float64).mean())
            out.append({"item_id": u.item.id, "index": u.info.get("index"), "mean": mean,
                        "bright": mean > self.options.threshold})
        return out

    def summarize(self, records: Sequence[dict[str, Any]], suite: Suite) -> list[MetricValue]:
        from lensbench import stats

        vals = [float(r["bright"]) for r in records]
        lo, hi = stats.bootstrap_ci(vals, n_boot=200)
        out = [MetricValue("bright", sum(vals) / len(vals), len(vals), lo, hi, unit="fraction")]
        cats = {it.id: it.category for it in suite.items()}
        for cat in sorted({c for c in cats.values() if c}):
            v = [float(r["bright"]) for r in records if cats.get(r["item_id"]) == cat]
            if v:
                out.append(MetricValue("bright", sum(v) / len(v), len(v), category=cat, unit="fraction"))
        return out


# -- 3. the two registry lines ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def registered():
    SUITES.register("toy-bright", toy_suite, replace=True)
    SCORERS.register("toy-bright", ToyScorer, replace=True)
    yield


GRID = """
name = "toy"
suite = "toy-bright"
[base]
model = "tiny"
height = 64
width = 64
device = "cpu"
[axes]
steps = [2, 3]
[control]
steps = 2
[score]
scorer = "toy-bright"
"""


def test_toy_suite_and_scorer_flow_through_score_report_and_ablation(tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    p = run_cli_inprocess("generate", "--model", "tiny", "--suite", "toy-bright", "--out", str(run), "--height", "64",
                          "--width", "64", "--steps", "2", "--no-progress")
    assert p.returncode == 0, p.stderr
    # `lensbench score`: the suite's default scorer, typed options, results with fingerprint and coverage
    bad = run_cli_inprocess("score", str(run), "-O", "treshold=3", "--no-progress")
    assert_user_error(bad, "unknown toy-bright scorer option 'treshold'", "did you mean 'threshold'")
    bad = run_cli_inprocess("score", str(run), "-O", "threshold=bright", "--no-progress")
    assert_user_error(bad, "threshold='bright'", "expected float")
    p = run_cli_inprocess("score", str(run), "-O", "threshold=100", "--no-progress")
    assert p.returncode == 0, p.stderr
    res = json.loads((run / "results" / "toy-bright.json").read_text())
    head = next(m for m in res["metrics"] if m["metric"] == "bright" and m["category"] is None)
    recs = [json.loads(x) for f in (run / "records").glob("score.toy-bright.*.jsonl") for x in f.read_text().splitlines()]
    assert len(recs) == 4 and head["value"] == pytest.approx(sum(r["bright"] for r in recs) / 4)
    assert res["fingerprint"] == {"scorer": "toy-bright", "version": "1", "threshold": 100.0}
    assert {r["fingerprint_id"] for r in recs} == {res["fingerprint_id"]}
    cov = res["coverage"]
    assert (cov["prompts_scored"], cov["prompts_total"], cov["partial"]) == (4, 4, False)
    assert cov["categories_total"] == ["dark", "light"] and cov["official_protocol"] is False

    # `lensbench report`: the toy metric under its declared display name, with its CI
    rep = tmp_path / "report"
    p = run_cli_inprocess("report", str(run), "--out", str(rep), "--format", "md,csv", "--no-charts",
                          "--contact-prompts", "0")
    assert p.returncode == 0, p.stderr
    tables = "\n".join(f.read_text() for f in (rep / "tables").glob("*.md"))
    assert "Toy brightness" in tables and f"{head['value']:.2f}" in tables

    # ablation: paired deltas of the toy metric from the scorer's paired_rule (no per-scorer table anywhere)
    from lensbench.runners.ablate import run_ablation

    grid = tmp_path / "toy.toml"
    grid.write_text(GRID)
    out = run_ablation(grid, tmp_path / "abl", cache_dir=tmp_path / "abl-cache", progress=False, n_boot=200)
    assert out.get("scored", True) is not False
    rows = [r for f in (tmp_path / "abl").rglob("*.csv") for r in csv.DictReader(open(f, newline=""))
            if r.get("metric") == "bright" and r.get("category") in ("", None)]
    treated = [r for r in rows if r.get("control") in ("False", "false", "0")]
    assert treated and all(r.get("paired") in ("True", "true", "1") and r.get("delta") not in ("", None)
                           for r in treated)
    assert all(r.get("n_pairs") == "4" for r in treated)
