"""Coverage and protocol in reports (issue 13 items 2 and 6): partial / off-protocol / unknown-coverage runs are
marked and kept out of published-vs-reproduced differences; `check` refuses another suite file or scorer
fingerprint; the Pareto latency is per image and pairs speed rows strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.reports_synth import FULL, coverage, geneval_metrics, make_run, speed_row

from lensbench.errors import UserError
from lensbench.reports import build_report, gate, run_tables
from lensbench.reports.baselines import load_baselines
from lensbench.reports.chart_data import paired_speed_row, run_latency
from lensbench.reports.runs import load_run, load_runs
from lensbench.store.results import MetricValue


@pytest.fixture(scope="module")
def baselines():
    from lensbench.reports.baselines import default_baselines_dir

    return load_baselines(default_baselines_dir())


def _overall(t, run_label):
    return [r for r in t.rows if r[1] == "GenEval" and r[2] == "Overall" and r[-1] == run_label]


def test_six_prompt_run_is_partial_in_the_published_report(tmp_path):
    six = make_run(tmp_path / "runs", "lt-six", model="lens-turbo",
                   metrics=geneval_metrics(0.333, 0.2, {"single_object": 0.333}),
                   coverage_block=coverage(6, 553, categories=("single_object",)))
    out = tmp_path / "report"
    build_report([six], out, "md,csv", published=True, charts=False)
    pvr = pd.read_csv(out / "tables" / "published_vs_reproduced.csv")
    rows = pvr[(pvr["Metric"] == "GenEval") & (pvr["Category"] == "Overall")]
    assert len(rows) >= 2  # Lens paper 0.914 and Mage-Flow 0.83 both listed ...
    assert rows["Comparison"].str.startswith("partial: 6/553 prompts").all()
    assert rows["Difference (ours − published)"].isna().all()  # ... and never as a plain difference
    assert rows["Outside our CI?"].isna().all()
    assert rows["Our protocol"].str.contains("6/553 prompts (1.1%), 1/6 categories, partial", regex=False).all()
    md = (out / "tables" / "published_vs_reproduced.md").read_text()
    assert "kept out of the differences" in md and "--allow-partial" in md
    quality = (out / "tables" / "quality.md").read_text()
    assert "6/553 prompts" in quality and "partial" in quality
    build_report([six], tmp_path / "r2", "csv", published=True, charts=False, allow_partial=True)
    pvr2 = pd.read_csv(tmp_path / "r2" / "tables" / "published_vs_reproduced.csv")
    rows2 = pvr2[(pvr2["Metric"] == "GenEval") & (pvr2["Category"] == "Overall")]
    assert rows2["Comparison"].str.startswith("partial").all()  # still marked
    assert set(rows2["Difference (ours − published)"].round(3)) == {round(0.333 - 0.914, 3), round(0.333 - 0.83, 3)}


def test_unknown_offprotocol_and_offnative_rows_are_marked(tmp_path, baselines):
    old = make_run(tmp_path, "old", model="lens-turbo", metrics=geneval_metrics(0.85))
    tiny = make_run(tmp_path, "tinydet", model="lens-turbo", metrics=geneval_metrics(0.85),
                    coverage_block=coverage(backend="tiny", reasons=("detector=tiny",)))
    native = make_run(tmp_path, "wide", model="lens-turbo", metrics=geneval_metrics(0.85), coverage_block=FULL,
                      manifest_extra={"model": {"name": "lens-turbo", "off_native": True}})
    full = make_run(tmp_path, "full", model="lens-turbo", metrics=geneval_metrics(0.85), coverage_block=FULL)
    t = run_tables.published_vs_reproduced(load_runs([old, tiny, native, full]), baselines)
    status = {label: _overall(t, label)[0] for label in ("old", "tinydet", "wide", "full")}
    assert status["old"][10].startswith("unknown") and status["old"][11] == ""
    assert status["tinydet"][10] == "off-protocol: detector=tiny" and status["tinydet"][11] == ""
    assert status["wide"][10] == "off-protocol: off-native size" and "off-native size" in status["wide"][9]
    assert status["full"][10] == "comparable" and status["full"][11] != ""
    assert "backend tiny" in status["tinydet"][9] and "off-protocol (detector=tiny)" in status["tinydet"][9]


def test_protocol_column_shows_language_and_backend(tmp_path, baselines):
    en = make_run(tmp_path, "en", model="lens", metrics=geneval_metrics(0.8), coverage_block=coverage(language="en"))
    zh = make_run(tmp_path, "zh", model="lens", metrics=geneval_metrics(0.7), coverage_block=coverage(language="zh"))
    q = run_tables.quality_table(load_runs([en, zh]), baselines)
    proto = {r[1]: r[3] for r in q.rows if r[2] == "measured (this run)"}
    assert proto["en"] != proto["zh"]
    assert "lang en" in proto["en"] and "lang zh" in proto["zh"] and "backend hf-mask2former" in proto["en"]
    assert "553/553 prompts (100.0%), 6/6 categories" in proto["en"]


def test_check_baseline_records_suite_and_fingerprint_and_refuses_mismatches(tmp_path):
    mets = geneval_metrics(0.84)
    base = make_run(tmp_path, "base", metrics=mets, fingerprint_id="fp-a", suite_sha256="a" * 64)
    p = gate.write_baseline(base, tmp_path / "b.json")
    data = json.loads(p.read_text())
    assert data["version"] == 2 and data["suite_sha256"] == "a" * 64
    assert data["scorers"]["geneval"]["fingerprint_id"] == "fp-a"
    tol = gate.parse_tolerances(None)
    same = make_run(tmp_path, "same", metrics=mets, fingerprint_id="fp-a", suite_sha256="a" * 64)
    assert not gate.check_run(same, gate.load_gate_baseline(p), tol).failed
    other_suite = make_run(tmp_path, "os", metrics=mets, fingerprint_id="fp-a", suite_sha256="b" * 64)
    with pytest.raises(UserError, match="suite file sha256"):
        gate.check_run(other_suite, gate.load_gate_baseline(p), tol)
    other_fp = make_run(tmp_path, "ofp", metrics=mets, fingerprint_id="fp-b", suite_sha256="a" * 64)
    with pytest.raises(UserError, match="fingerprint fp-a, this run with fp-b"):
        gate.check_run(other_fp, gate.load_gate_baseline(p), tol)
    from typer.testing import CliRunner

    from lensbench.cli import app

    r = CliRunner().invoke(app, ["check", str(other_suite), "--against", str(p)])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and r.output.startswith("error: the baseline was recorded")
    # a version-1 baseline (no suite sha256 / fingerprints) is still read, and the result says what was not verified
    v1 = {k: v for k, v in data.items() if k not in ("suite_sha256", "scorers")} | {"version": 1}
    (tmp_path / "v1.json").write_text(json.dumps(v1))
    res = gate.check_run(other_fp, gate.load_gate_baseline(tmp_path / "v1.json"), tol)
    assert not res.failed and any("not verified" in n for n in res.settings["notes"])


def _records(run: Path, recs: list[dict]) -> None:
    (run / "records").mkdir(exist_ok=True)
    with open(run / "records" / "generate.r0.jsonl", "w") as fh:
        for i, r in enumerate(recs):
            fh.write(json.dumps({"key": f"k{i}", "item_id": f"p{i}", "index": 0, "status": "ok", **r}) + "\n")


def test_pareto_latency_is_per_image(tmp_path):
    run = make_run(tmp_path, "b4", model="tiny", metrics=geneval_metrics(0.5),
                   generation={"dtype": "float32", "batch_size": 4})
    _records(run, [{"latency_s": 3.53, "batch_size": 4}] * 4 + [{"latency_s": 3.53, "batch_size": 4, "reused": True}])
    lat, how, _dev = run_latency(load_run(run), [load_run(run)])
    assert lat == pytest.approx(3.53 / 4) and "per image" in how
    rec = make_run(tmp_path, "rec", model="tiny", metrics=geneval_metrics(0.5))
    _records(rec, [{"latency_s": 2.0, "batch_size": 2, "latency_per_image_s": 0.9}])
    assert run_latency(load_run(rec), [load_run(rec)])[0] == pytest.approx(0.9)


def test_pareto_pairs_speed_rows_strictly(tmp_path):
    gen = {"width": 1024, "height": 1024, "steps": 4, "guidance": 1.0, "dtype": "bfloat16"}
    q = make_run(tmp_path, "q", model="lens-turbo", metrics=geneval_metrics(0.9), generation=gen)
    _records(q, [{"latency_s": 2.0, "batch_size": 1}])
    two_steps = make_run(tmp_path, "s2", model="lens-turbo", generation={"guidance": 1.0},
                         speed=[speed_row(model="lens-turbo", steps=2, dtype="bfloat16", latency_p50_s=0.5)])
    other_dtype = make_run(tmp_path, "sd", model="lens-turbo", generation={"guidance": 1.0},
                           speed=[speed_row(model="lens-turbo", steps=4, dtype="float16", latency_p50_s=0.6)])
    other_cfg = make_run(tmp_path, "sg", model="lens-turbo", generation={"guidance": 4.0},
                         speed=[speed_row(model="lens-turbo", steps=4, dtype="bfloat16", latency_p50_s=0.7)])
    runs = load_runs([q, two_steps, other_dtype, other_cfg])
    assert paired_speed_row(runs[0], runs) is None
    lat, how, _ = run_latency(runs[0], runs)
    assert lat == pytest.approx(2.0) and how.startswith("median generation latency")  # no loose pairing
    match = make_run(tmp_path, "sm", model="lens-turbo", generation={"guidance": 1.0},
                     speed=[speed_row(model="lens-turbo", steps=4, dtype="bfloat16", batch_size=2, latency_p50_s=1.8),
                            speed_row(model="lens-turbo", steps=4, dtype="bfloat16", latency_p50_s=0.84)])
    runs = load_runs([q, two_steps, match])
    assert paired_speed_row(runs[0], runs)["batch_size"] == 1
    assert run_latency(runs[0], runs)[0] == pytest.approx(0.84)
    only_b2 = make_run(tmp_path, "sb", model="lens-turbo", generation={"guidance": 1.0},
                       speed=[speed_row(model="lens-turbo", steps=4, dtype="bfloat16", batch_size=2, latency_p50_s=1.8)])
    runs = load_runs([q, only_b2])
    assert run_latency(runs[0], runs)[0] == pytest.approx(0.9)  # per image: 1.8 s per call / 2


def test_metric_value_without_coverage_is_unknown_not_full(tmp_path, baselines):
    run = make_run(tmp_path, "dpg", model="z-image", scorer="dpg", metrics=[MetricValue("dpg", 85.0, 1065, unit="percent")])
    t = run_tables.published_vs_reproduced([load_run(run)], baselines)
    assert t.rows and all(r[10].startswith("unknown") and r[11] == "" for r in t.rows)
