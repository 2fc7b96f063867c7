"""Summary lines of generate/score/speed/ablate: rank 0 only, silent after -q, metrics formatted by MetricMeta."""

from __future__ import annotations

import pytest

from lensbench.cli import output
from lensbench.scorers.base import MetricMeta
from lensbench.util import terminal
from tests.helpers import run_cli_inprocess


@pytest.fixture
def default_verbosity():
    terminal.configure(0)
    yield
    terminal.configure(0)


def test_only_rank_0_prints_the_summary(monkeypatch, capsys, default_verbosity):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("LOCAL_RANK", "1")
    output.say("3 generated, 0 already done, 6 planned")
    assert capsys.readouterr().out == ""
    assert not output.is_main_rank()
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    output.say("3 generated, 0 already done, 6 planned")
    assert capsys.readouterr().out == "3 generated, 0 already done, 6 planned\n"


def test_quiet_suppresses_the_summary(capsys, default_verbosity):
    terminal.configure(-1)
    output.say("scored 0 new of 6 units")
    assert capsys.readouterr().out == ""
    terminal.configure(0)
    output.say("scored 0 new of 6 units")
    assert capsys.readouterr().out == "scored 0 new of 6 units\n"


DPG_META = {"dpg": MetricMeta("DPG", unit="percent", decimals=2),
            "dpg_excluded_prompts": MetricMeta("excluded", higher_is_better=False, unit="count", decimals=0)}


def _out(coverage, metrics):
    return {"scored_now": 2, "units": 3, "scorer": "dpg", "fingerprint_id": "abc", "seconds": 1.0,
            "results": {"coverage": coverage, "metrics": metrics}}


def test_score_lines_counts_as_integers_and_no_unknown_categories():
    cov = {"partial": True, "prompts_scored": 2, "prompts_total": 1065, "categories_present": [], "categories_total": []}
    metrics = [{"metric": "dpg", "category": None, "value": 61.234567, "ci_low": 55.0, "ci_high": 66.5, "n": 2},
               {"metric": "dpg", "category": "entity", "value": 50.0, "n": 2},
               {"metric": "dpg_excluded_prompts", "category": None, "value": 1.0, "n": 3}]
    lines = output.score_lines(_out(cov, metrics), DPG_META)
    assert lines[1] == "  partial: 2 of 1065 prompts"
    assert lines[2:] == ["  dpg: 61.23 [55.00, 66.50] (n=2)", "  dpg_excluded_prompts: 1 (n=3)"]
    cov2 = {**cov, "categories_present": ["color"], "categories_total": ["color", "shape"]}
    assert output.score_lines(_out(cov2, []), DPG_META)[1] == "  partial: 2 of 1065 prompts, categories 1 of 2"
    # no meta known (older scorer): 4 decimals as before; a missing value is n/a
    assert output.score_lines(_out({}, [{"metric": "x", "value": None, "n": 0}]))[1:] == ["  x: n/a (n=0)"]


def test_quiet_generate_prints_nothing(tmp_path):
    p = run_cli_inprocess("-q", "generate", "--model", "tiny", "--suite", "demo", "--limit", "1", "--size", "64x64",
                          "--steps", "2", "--out", str(tmp_path / "run"), "--no-progress")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == ""
    loud = run_cli_inprocess("generate", "--model", "tiny", "--suite", "demo", "--limit", "1", "--size", "64x64",
                             "--steps", "2", "--out", str(tmp_path / "run"), "--no-progress")
    assert "0 generated, 1 already done, 1 planned" in loud.stdout
