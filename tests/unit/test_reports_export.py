"""`lensbench export`: one tidy row per run × metric × category, typed columns, parquet/CSV/JSONL; report CSVs
hold CIs in numeric columns."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from tests.reports_synth import coverage, geneval_metrics, make_run, speed_row

from lensbench.errors import UserError
from lensbench.reports import run_tables
from lensbench.reports.export import COLUMNS, export_runs
from lensbench.reports.runs import load_run
from lensbench.reports.tables import to_csv


@pytest.fixture()
def runs(tmp_path):
    full = make_run(tmp_path, "lt", model="lens-turbo", metrics=geneval_metrics(0.85, 0.025),
                    coverage_block=coverage(), fingerprint_id="fp-1", suite_sha256="ab" * 32,
                    generation={"dtype": "bfloat16", "seed": 42, "threads": 2, "batch_size": 4},
                    manifest_extra={"settings_hash": "s-hash", "lensbench_version": "0.1.0",
                                    "git": {"commit": "c0ffee", "dirty": False}})
    part = make_run(tmp_path, "six", model="lens-turbo", metrics=geneval_metrics(0.33, 0.1, {"single_object": 0.33}),
                    coverage_block=coverage(6, 553, categories=("single_object",)))
    old = make_run(tmp_path, "old", model="z-image", metrics=geneval_metrics(0.8))
    sp = make_run(tmp_path, "sp", model="z-image", speed=[speed_row(), speed_row(status="oom", latency_p50_s="",
                                                                                latency_mean_s="", latency_p90_s="")])
    return [full, part, old, sp]


def test_parquet_round_trip_with_numeric_ci_columns(runs, tmp_path):
    path, n = export_runs(runs, tmp_path / "out" / "results.parquet")
    df = pd.read_parquet(path)
    assert len(df) == n and list(df.columns) == list(COLUMNS)
    for col in ("value", "ci_low", "ci_high", "coverage_fraction"):
        assert pd.api.types.is_float_dtype(df[col]), col
    assert pd.api.types.is_integer_dtype(df["n"]) and pd.api.types.is_integer_dtype(df["prompts_scored"])
    head = df[(df.run == "lt") & (df.metric == "geneval") & df.category.isna()].iloc[0]
    assert (head.value, head.ci_low, head.ci_high, head.n) == pytest.approx((0.85, 0.825, 0.875, 553))
    assert (head.prompts_scored, head.prompts_total, bool(head.partial), bool(head.official_protocol)) == (553, 553, False, True)
    assert (head.fingerprint_id, head.settings_hash, head.suite_sha256, head.git_commit) == ("fp-1", "s-hash", "ab" * 32, "c0ffee")
    assert (head.comparison, head.scorer_backend, head.language, head.threads, head["dtype"]) == (
        "full", "hf-mask2former", "en", 2, "bfloat16")
    six = df[(df.run == "six") & df.category.isna()].iloc[0]
    assert bool(six.partial) and six.comparison == "partial" and six.prompts_scored == 6
    old = df[(df.run == "old") & df.category.isna()].iloc[0]
    assert pd.isna(old.partial) and pd.isna(old.prompts_scored) and old.comparison == "unknown"  # never "full"
    speed = df[df.kind == "speed"]
    assert set(speed.metric) >= {"latency_p50_s", "images_per_s"} and speed.value.notna().all()
    assert (df.run == "lt").sum() == 7  # overall + six tags


def test_csv_and_jsonl_and_errors(runs, tmp_path):
    p, n = export_runs(runs, tmp_path / "r.csv")
    df = pd.read_csv(p)
    assert len(df) == n and pd.api.types.is_float_dtype(df["ci_low"])
    p, _ = export_runs(runs[:1], tmp_path / "r.jsonl")
    first = json.loads(p.read_text().splitlines()[0])
    assert isinstance(first["value"], float) and first["model"] == "lens-turbo"
    with pytest.raises(UserError, match="already exists"):
        export_runs(runs, tmp_path / "r.csv")
    export_runs(runs, tmp_path / "r.csv", force=True)
    with pytest.raises(UserError, match="unknown format"):
        export_runs(runs, tmp_path / "r.xlsx")


def test_cli_export(runs, tmp_path):
    from typer.testing import CliRunner

    from lensbench.cli import app

    r = CliRunner().invoke(app, ["export", *map(str, runs), "--out", str(tmp_path / "x.parquet")])
    assert r.exit_code == 0, r.output
    assert "rows to" in r.output and pd.read_parquet(tmp_path / "x.parquet").value.notna().all()


def test_report_csv_keeps_cis_in_numeric_columns(runs):
    t = run_tables.quality_table([load_run(runs[0])])
    df = pd.read_csv(__import__("io").StringIO(to_csv(t)))
    assert {"GenEval", "GenEval CI low", "GenEval CI high"} <= set(df.columns)
    row = df.iloc[0]
    assert (row["GenEval"], row["GenEval CI low"], row["GenEval CI high"]) == pytest.approx((0.85, 0.825, 0.875))


def test_published_rows_keep_their_source_and_stay_apart(runs, tmp_path):
    path, _ = export_runs(runs[:1], tmp_path / "p.parquet", published=True)
    df = pd.read_parquet(path)
    pub = df[df.kind == "published"]
    lt = pub[(pub.model == "lens-turbo") & (pub.metric == "geneval") & pub.category.isna()]
    assert set(lt.value_text) >= {"0.914", "0.83"} and lt.source.notna().all() and lt.measured_by.notna().all()
    assert pub.ci_low.isna().all() and pub.fingerprint_id.isna().all()  # nothing measured is claimed
    assert (df.kind == "quality").sum() == 7


def test_old_speed_runs_export_threads_from_the_speed_record(tmp_path):
    """Speed manifests written before contract 4 have no generation.threads, only speed.torch_threads."""
    sp = make_run(tmp_path, "sp-old", model="z-image", speed=[speed_row()], manifest_extra={"speed": {"torch_threads": 3}})
    new = make_run(tmp_path, "sp-new", model="z-image", speed=[speed_row()], generation={"threads": 1},
                   manifest_extra={"speed": {"torch_threads": 1}})
    path, _ = export_runs([sp, new], tmp_path / "t.csv")
    df = pd.read_csv(path)
    assert set(df[df.run == "sp-old"].threads) == {3} and set(df[df.run == "sp-new"].threads) == {1}
