"""The regression gate: CI-aware quality decisions, latency ratios, baselines, JUnit, CLI exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
import typer
from typer.testing import CliRunner

from lensbench.cli import report as report_cli
from lensbench.errors import UserError
from lensbench.reports import gate
from lensbench.store.results import MetricValue
from tests.reports_synth import make_run, speed_row


def _q(value, lo=None, hi=None, category=None, hib=True):
    return MetricValue("geneval", value, 553, lo, hi, category=category, higher_is_better=hib, unit="fraction")


def _check(tmp_path, base_metrics, cur_metrics, **tol):
    base = make_run(tmp_path, "base", metrics=base_metrics)
    cur = make_run(tmp_path, "cur", metrics=cur_metrics)
    return gate.check_run(cur, gate.load_gate_baseline(base), gate.parse_tolerances(None, **tol))


@pytest.mark.parametrize("cur,status", [
    (_q(0.79, 0.77, 0.81), "FAIL"),  # drop 0.05 (6 %) > 2 % and CI [0.77, 0.81] excludes 0.84
    (_q(0.79, 0.74, 0.85), "WARN"),  # same drop but the CI covers 0.84: within noise
    (_q(0.83, 0.81, 0.829), "PASS"),  # CI excludes 0.84, but the drop (1.2 %) is within tolerance
    (_q(0.79), "FAIL"),  # no CI: tolerance alone decides
    (_q(0.90, 0.88, 0.92), "IMPROVED"),
    (_q(float("nan")), "FAIL"),
])
def test_quality_decisions_are_ci_aware(tmp_path, cur, status):
    res = _check(tmp_path, [_q(0.84, 0.82, 0.86)], [cur])
    assert [c.status for c in res.checks] == [status]
    assert res.failed == (status == "FAIL")


def test_lower_is_better_metric_and_per_metric_tolerance(tmp_path):
    base = [MetricValue("fid", 10.0, 100, 9.0, 11.0, higher_is_better=False)]
    cur = [MetricValue("fid", 11.0, 100, 10.6, 11.4, higher_is_better=False)]  # +10 %, CI excludes 10
    assert _check(tmp_path, base, cur).checks[0].status == "FAIL"
    res = _check(tmp_path, base, cur, per_metric={"fid": 0.15})
    assert res.checks[0].status == "PASS"


def test_category_tolerance_and_missing(tmp_path):
    base = [_q(0.84, 0.82, 0.86), _q(0.70, 0.65, 0.75, category="counting")]
    cur = [_q(0.84, 0.82, 0.86), _q(0.66, 0.64, 0.68, category="counting")]  # -5.7 %, CI excludes 0.70
    tol = gate.parse_tolerances(["geneval:counting=10%"])
    base_run, cur_run = make_run(tmp_path, "b", metrics=base), make_run(tmp_path, "c", metrics=cur)
    res = gate.check_run(cur_run, gate.load_gate_baseline(base_run), tol)
    assert {c.name: c.status for c in res.checks} == {"geneval/geneval": "PASS", "geneval/geneval:counting": "PASS"}
    only_overall = make_run(tmp_path, "c2", metrics=[_q(0.84, 0.82, 0.86)])
    res = gate.check_run(only_overall, gate.load_gate_baseline(base_run), gate.parse_tolerances(None))
    assert res.failed and {c.status for c in res.checks} == {"PASS", "MISSING"}
    res = gate.check_run(only_overall, gate.load_gate_baseline(base_run), gate.parse_tolerances(None, allow_missing=True))
    assert not res.failed and {c.status for c in res.checks} == {"PASS", "SKIP"}


def test_latency_ratio_and_oom(tmp_path):
    base = make_run(tmp_path, "b", speed=[speed_row(latency_p50_s=1.0), speed_row(height=512, width=512, latency_p50_s=0.3),
                                          speed_row(steps=4, latency_p50_s=0.2)])
    cur = make_run(tmp_path, "c", speed=[speed_row(latency_p50_s=1.19), speed_row(height=512, width=512, latency_p50_s=0.37),
                                         speed_row(steps=4, status="oom", latency_p50_s="")])
    res = gate.check_run(cur, gate.load_gate_baseline(base), gate.parse_tolerances(None))
    by = {(c.name.split()[1], c.name.split()[2]): c for c in res.checks}
    assert by[("1024x1024", "20")].status == "PASS" and by[("1024x1024", "20")].change == "×1.190"
    assert by[("512x512", "20")].status == "FAIL"  # ×1.233 > ×1.2
    assert by[("1024x1024", "4")].status == "FAIL" and "oom" in by[("1024x1024", "4")].detail
    res = gate.check_run(cur, gate.load_gate_baseline(base), gate.parse_tolerances(None, latency_ratio=1.25))
    assert by[("1024x1024", "4")].status == "FAIL"
    assert [c.status for c in res.checks if "512x512" in c.name] == ["PASS"]


def test_memory_ratio_optional(tmp_path):
    base = make_run(tmp_path, "b", speed=[speed_row(peak_alloc_gb=30.0)])
    cur = make_run(tmp_path, "c", speed=[speed_row(peak_alloc_gb=40.0)])
    assert not gate.check_run(cur, gate.load_gate_baseline(base), gate.parse_tolerances(None)).failed
    res = gate.check_run(cur, gate.load_gate_baseline(base), gate.parse_tolerances(None, memory_ratio=1.1))
    assert [c.kind for c in res.checks if c.status == "FAIL"] == ["memory"]


def test_write_baseline_round_trip_and_junit(tmp_path):
    run = make_run(tmp_path, "r", metrics=[_q(0.84, 0.82, 0.86)], speed=[speed_row()])
    p = gate.write_baseline(run, tmp_path / "ci" / "baseline.json")
    data = json.loads(p.read_text())
    assert data["format"] == gate.BASELINE_FORMAT and data["quality"][0]["value"] == 0.84
    assert data["speed"][0]["latency_p50_s"] == 3.1
    assert p.read_text() == gate.write_baseline(run, tmp_path / "again.json").read_text()  # deterministic
    worse = make_run(tmp_path, "w", metrics=[_q(0.70, 0.68, 0.72)], speed=[speed_row(latency_p50_s=3.0)])
    res = gate.check_run(worse, gate.load_gate_baseline(p), gate.parse_tolerances(None))
    xml = gate.write_junit(res, tmp_path / "gate.xml")
    suite = ET.parse(xml).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failed = [tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert failed == ["geneval/geneval"]


@pytest.mark.parametrize("specs,msg", [(["abc"], "not a number"), (["1.5"], r"in \[0, 1\)"), (["=0.1"], "METRIC=VALUE")])
def test_bad_tolerances(specs, msg):
    with pytest.raises(UserError, match=msg):
        gate.parse_tolerances(specs)
    with pytest.raises(UserError, match="latency-ratio"):
        gate.parse_tolerances(None, latency_ratio=0.9)


def test_bad_baselines(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        gate.load_gate_baseline(tmp_path / "none.json")
    (tmp_path / "x.json").write_text(json.dumps({"quality": []}))
    with pytest.raises(UserError, match="not a lensbench gate baseline"):
        gate.load_gate_baseline(tmp_path / "x.json")
    empty = make_run(tmp_path, "e")
    with pytest.raises(UserError, match="nothing to make a baseline|no results"):
        gate.write_baseline(empty, tmp_path / "b.json")


def _cli():
    app = typer.Typer()
    report_cli.register(app)
    return app


def test_cli_check_exit_codes(tmp_path):
    base = make_run(tmp_path, "base", metrics=[_q(0.84, 0.82, 0.86)])
    good = make_run(tmp_path, "good", metrics=[_q(0.845, 0.825, 0.865)])
    bad = make_run(tmp_path, "bad", metrics=[_q(0.70, 0.68, 0.72)])
    runner = CliRunner()
    r = runner.invoke(_cli(), ["check", str(base), "--write-baseline", str(tmp_path / "b.json")])
    assert r.exit_code == 0 and "baseline written" in r.output
    r = runner.invoke(_cli(), ["check", str(good), "--against", str(tmp_path / "b.json")])
    assert r.exit_code == 0 and "OK: 1 PASS" in r.output and "geneval/geneval" in r.output
    junit = tmp_path / "j.xml"
    r = runner.invoke(_cli(), ["check", str(bad), "--against", str(base), "--junit", str(junit)])
    assert r.exit_code == 1 and "REGRESSION: 1 FAIL" in r.output and junit.exists()
    r = runner.invoke(_cli(), ["check", str(bad)])
    assert r.exit_code == 2 and "give --against" in r.output
    r = runner.invoke(_cli(), ["check", str(bad), "--against", str(tmp_path / "missing.json")])
    assert r.exit_code == 2 and "does not exist" in r.output
