"""The shipped tiny grid end to end: tiny random generator (real diffusers path) × GenEval in en/zh, scored by the
tiny GenEval scorer; then the same grid into a new directory generates nothing. Plus the CLI."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lensbench.runners.ablate import run_ablation
from lensbench.store.run_store import RunStore
from tests.helpers import assert_user_error, run_cli

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "examples" / "ablations" / "tiny.toml"


@pytest.mark.slow
def test_tiny_grid_end_to_end(shared_data, tmp_path):
    opts = {"metadata": str(shared_data / "geneval" / "evaluation_metadata.jsonl")}
    res = run_ablation(TINY, tmp_path / "a", suite_options=opts, cache_dir=tmp_path / "cache", limit=2, n_boot=200,
                       progress=False)
    assert sorted(res["cells"]) == ["steps-2_language-en", "steps-2_language-zh", "steps-4_language-en",
                                    "steps-4_language-zh"]
    assert {s["generated"] for s in res["cells"].values()} == {4}
    with open(tmp_path / "a" / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    head = [r for r in rows if r["metric"] == "geneval" and r["category"] == ""]
    assert len(head) == 4 and all(0.0 <= float(r["value"]) <= 1.0 for r in head)
    assert all(r["paired"] == "true" and r["n_pairs"] in ("", "2") for r in head)
    zh = RunStore(tmp_path / "a" / "cells" / "steps-4_language-zh").records("generate")
    assert {r["prompt"] for r in zh} == {"一张长椅的照片", "一头牛的照片"} and {r["steps"] for r in zh} == {4}
    scored = RunStore(tmp_path / "a" / "cells" / "steps-4_language-zh").records("score.geneval")
    assert {r["prompt"] for r in scored} == {"a photo of a bench", "a photo of a cow"}  # judged on the official record
    assert (tmp_path / "a" / "by_language.md").is_file() and len(res["charts"]) == 2

    again = run_ablation(TINY, tmp_path / "b", suite_options=opts, cache_dir=tmp_path / "cache", limit=2, n_boot=200,
                         progress=False)
    assert {s["generated"] for s in again["cells"].values()} == {0} and {s["reused"] for s in again["cells"].values()} == {4}
    assert (tmp_path / "b" / "results.csv").read_text() == (tmp_path / "a" / "results.csv").read_text()


@pytest.mark.slow
def test_cli_dry_run_and_errors(shared_data, tmp_path):
    meta = shared_data / "geneval" / "evaluation_metadata.jsonl"
    proc = run_cli("ablate", str(TINY), "-S", f"metadata={meta}", "--out", str(tmp_path / "x"), "--cache",
                   str(tmp_path / "c"), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert "steps-2_language-en *" in proc.stdout and "32 images planned" in proc.stdout
    assert "32 to generate" in proc.stdout and not (tmp_path / "x").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('suite = "smoke"\n[axes]\nstepz = [1]\n')
    assert_user_error(run_cli("ablate", str(bad), "--dry-run"), "unknown ablation axis 'stepz'")
    assert_user_error(run_cli("ablate", str(tmp_path / "none.toml")), "does not exist")
