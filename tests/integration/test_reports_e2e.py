"""Report and gate on a real run: tiny model -> generate -> tiny GenEval scorer -> report + check (CPU)."""

from __future__ import annotations

import json

import pytest

from lensbench.reports import build_report, gate
from tests.geneval_support import write_tiny_metadata
from tests.helpers import run_cli

pytestmark = pytest.mark.slow

TINY = {"detector": "tiny", "clip": "tiny", "tiny_labels": "dog,cat,car"}


@pytest.fixture(scope="module")
def scored_run(tmp_path_factory, shared_data):
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate
    from lensbench.runners.score import run_score

    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("report-e2e")
    mp.setenv("LENSBENCH_CACHE", str(root / "cache"))
    meta = root / "meta.jsonl"
    write_tiny_metadata(shared_data, meta)
    run = root / "run"
    run_generate(RunConfig(model="tiny", suite="geneval", suite_options={"metadata": str(meta)}, out=str(run),
                           images_per_prompt=1, height=64, width=64, steps=2, progress=False))
    run_score(run, "geneval", dict(TINY), progress=False)
    yield run
    mp.undo()


def test_report_from_a_scored_tiny_run(scored_run, tmp_path):
    out = tmp_path / "report"
    paths = build_report([scored_run], out, "md,csv", published=True)
    quality = (out / "tables" / "quality.csv").read_text().splitlines()
    assert quality[0].startswith("Model,Run,Provenance,Protocol,GenEval")
    assert quality[1].startswith('tiny,run,measured (this run),"64x64, 2 steps')
    assert "rewriter none" in quality[1]
    # the coverage block of the real results (prompts scored / in the metadata, tiny backend) is in the Protocol
    assert "prompts" in quality[1] and "backend tiny" in quality[1] and "off-protocol" in quality[1]
    assert len(quality) == 2  # tiny has no published numbers: no published rows
    assert (out / "tables" / "categories_geneval.md").exists()
    charts = {p.name for p in paths if p.parent.name == "charts"}
    assert {"pareto_geneval.png", "geneval_categories.png", "contact_sheet.png"} <= charts
    assert {"pareto_geneval.pdf", "pareto_geneval.svg"} <= charts
    assert "No run metric has a published counterpart" in (out / "tables" / "published_vs_reproduced.md").read_text()


def test_gate_passes_against_itself_and_cli_exit_codes(scored_run, tmp_path):
    base = gate.write_baseline(scored_run, tmp_path / "baseline.json")
    res = gate.check_run(scored_run, gate.load_gate_baseline(base), gate.parse_tolerances(None))
    assert not res.failed and {c.status for c in res.checks} == {"PASS"}
    data = json.loads(base.read_text())
    data["quality"] = [dict(q, value=min(1.0, q["value"] + 0.5), ci_low=None, ci_high=None) for q in data["quality"]]
    worse = tmp_path / "higher.json"
    worse.write_text(json.dumps(data))
    proc = run_cli("check", str(scored_run), "--against", str(worse))
    assert proc.returncode == 1 and "REGRESSION" in proc.stdout
    proc = run_cli("check", str(scored_run), "--against", str(base))
    assert proc.returncode == 0 and "OK:" in proc.stdout
    proc = run_cli("check", str(scored_run), "--against", str(tmp_path / "nope.json"))
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
