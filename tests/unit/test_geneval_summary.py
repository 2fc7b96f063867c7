"""GenEval summaries against hand computation, and `lensbench geneval summarize`."""

from __future__ import annotations

import json
import math

import pytest

from lensbench.errors import UserError
from lensbench.scorers.geneval.summary import format_official, lensbench_metrics, official_summary, read_results
from lensbench.scorers.geneval.tools import summarize_results


def row(tag, prompt, correct):
    meta = json.dumps({"tag": tag, "prompt": prompt})
    return {"filename": f"{prompt}.png", "tag": tag, "prompt": prompt, "correct": correct, "reason": "",
            "metadata": meta, "details": "{}"}


# single_object: p1 [T, F], p2 [T, T] -> 3/4; counting: p3 [F, F], p4 [T, F] -> 1/4; colors: p5 [T] -> 1/1
ROWS = [row("counting", "p3", False), row("single_object", "p1", True), row("single_object", "p1", False),
        row("single_object", "p2", True), row("counting", "p3", False), row("single_object", "p2", True),
        row("counting", "p4", True), row("counting", "p4", False), row("colors", "p5", True)]

EXPECTED_TEXT = """Summary
=======
Total images: 9
Total prompts: 5
% correct images: 55.56%
% correct prompts: 80.00%

Task breakdown
==============
counting         = 25.00% (1 / 4)
single_object    = 75.00% (3 / 4)
colors           = 100.00% (1 / 1)

Overall score (avg. over tasks): 0.66667"""


def test_official_summary_by_hand():
    s = official_summary(ROWS)
    assert (s.n_images, s.n_prompts) == (9, 5)
    assert s.correct_images == pytest.approx(5 / 9)
    assert s.correct_prompts == pytest.approx(4 / 5)  # p1, p2, p4, p5 have at least one correct image
    assert list(s.tags) == ["counting", "single_object", "colors"]  # order of first appearance
    assert {t: (v.n_correct, v.n_images) for t, v in s.tags.items()} == {"counting": (1, 4), "single_object": (3, 4), "colors": (1, 1)}
    assert s.overall == pytest.approx((0.25 + 0.75 + 1.0) / 3)  # mean of tag means, not of images (5/9)
    assert format_official(s) == EXPECTED_TEXT


def test_lensbench_metrics_match_the_official_values_and_carry_prompt_bootstrap_cis():
    ms = lensbench_metrics(ROWS, n_boot=500)
    head = [m for m in ms if m.metric == "geneval" and m.category is None][0]
    tags = {m.category: m for m in ms if m.metric == "geneval" and m.category}
    assert head.value == pytest.approx(2 / 3) and head.n == 5 and head.unit == "fraction"
    assert {t: (m.value, m.n) for t, m in tags.items()} == {"counting": (0.25, 2), "single_object": (0.75, 2), "colors": (1.0, 1)}
    # single prompt -> no CI ([1, 1] would read as certainty); single_object resamples {p1: 1/2, p2: 2/2} -> ratios in {0.5, 0.75, 1}
    assert math.isnan(tags["colors"].ci_low) and math.isnan(tags["colors"].ci_high)
    assert tags["single_object"].ci_low == 0.5 and tags["single_object"].ci_high == 1.0
    assert 0 <= head.ci_low <= head.value <= head.ci_high <= 1
    other = {m.metric: m.value for m in ms if m.metric != "geneval"}
    assert other == {"geneval_image_accuracy": pytest.approx(5 / 9), "geneval_prompt_any": pytest.approx(4 / 5)}


def test_unequal_images_per_prompt_use_image_means_like_the_official():
    rows = [row("colors", "a", True), row("colors", "b", False), row("colors", "b", False), row("colors", "b", True)]
    ms = lensbench_metrics(rows, n_boot=200)
    assert ms[0].value == pytest.approx(2 / 4) == official_summary(rows).overall  # not (1 + 1/3) / 2


def test_read_results_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_results(tmp_path / "missing.jsonl")
    p = tmp_path / "r.jsonl"
    p.write_text(json.dumps(ROWS[0]) + "\n" + '{"tag": "x"}\n')
    with pytest.raises(UserError, match=r"r.jsonl:2: needs"):
        read_results(p)


def test_summarize_api_and_cli(tmp_path):
    from typer.testing import CliRunner

    from lensbench.cli.geneval import geneval_app

    p = tmp_path / "results.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = summarize_results(p)
    assert out["text"] == EXPECTED_TEXT
    res = CliRunner().invoke(geneval_app, ["summarize", str(p)])
    assert res.exit_code == 0 and res.output.strip() == EXPECTED_TEXT
    res = CliRunner().invoke(geneval_app, ["summarize", str(p), "--json"])
    data = json.loads(res.output)
    assert data["overall"] == pytest.approx(2 / 3)
    assert data["tags"] == {"counting": 0.25, "single_object": 0.75, "colors": 1.0}
    assert data["ci95"]["overall"][0] <= data["overall"] <= data["ci95"]["overall"][1]


def test_summarize_cli_bad_file_is_a_one_line_error(tmp_path, capsys):
    from lensbench.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["geneval", "summarize", str(tmp_path / "nope.jsonl")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: results file") and err.count("\n") == 1
