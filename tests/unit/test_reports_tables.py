"""Table renderers and table values computed from synthetic run results."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from tests.reports_synth import FULL, geneval_metrics, make_run, speed_row

from lensbench.errors import UserError
from lensbench.reports import run_tables
from lensbench.reports.baselines import load_baselines
from lensbench.reports.runs import load_run, load_runs, read_speed_csv
from lensbench.reports.tables import (Table, fmt_ci, fmt_signed, latex_escape, parse_formats, to_csv, to_html,
                                      to_latex, to_markdown, to_text)
from lensbench.store.results import MetricValue

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def baselines():
    return load_baselines(REPO / "lensbench" / "baselines" / "data")


def _table() -> Table:
    t = Table("t", "Title & more", ["Model", "Value"], numeric={1})
    t.add(["a|b", "0.930†"])
    t.add(["<x>", "~19.3%"])
    t.notes.append("note_1")
    return t


def test_renderers_escape_per_format():
    t = _table()
    md = to_markdown(t)
    assert "| a\\|b | 0.930† |" in md and "|---|---:|" in md and md.endswith("- note_1\n")
    rows = list(csv.reader(io.StringIO(to_csv(t))))
    assert rows == [["Model", "Value"], ["a|b", "0.930†"], ["<x>", "~19.3%"]]
    tex = to_latex(t)
    assert r"0.930\textsuperscript{\dag}" in tex and r"$\sim$19.3\%" in tex and r"$<$x$>$" in tex
    assert "\\begin{tabular}{lr}" in tex and r"note\_1" in tex
    html = to_html(t)
    assert "<td>&lt;x&gt;</td>" in html and '<td class="num">0.930†</td>' in html
    text = to_text(t)
    assert text.splitlines()[0].startswith("Model") and "0.930†" in text


def test_format_helpers():
    assert fmt_ci(0.8123, 0.79, 0.833, 3) == "0.812 [0.790, 0.833]"
    assert fmt_ci(0.8, None, None, 3) == "0.800"
    assert fmt_ci(float("nan"), 0.1, 0.2, 3) == ""
    assert fmt_signed(-0.0001, 3) == "+0.000" and fmt_signed(-0.064, 3) == "-0.064"
    assert latex_escape("a_b & c") == r"a\_b \& c"
    assert parse_formats("md, tex,html") == ["md", "latex", "html"]
    with pytest.raises(UserError, match="unknown report format"):
        parse_formats("md,pdf")


def test_table_row_length_checked():
    t = Table("t", "T", ["a", "b"])
    with pytest.raises(ValueError):
        t.add(["only one"])


def test_quality_and_category_tables_from_synthetic_results(tmp_path, baselines):
    tags = {"single_object": 0.99, "two_object": 0.9, "counting": 0.7, "colors": 0.88, "position": 0.55, "color_attr": 0.68}
    run = make_run(tmp_path, "zi", model="Tongyi-MAI/Z-Image", metrics=geneval_metrics(0.78, 0.02, tags))
    q = run_tables.quality_table([load_run(run)], baselines)
    measured = [r for r in q.rows if r[2] == "measured (this run)"]
    assert measured == [["Z-Image", "zi", "measured (this run)",
                         "1024x1024, 50 steps, guidance 4.0, 4 img/prompt, rewriter none; coverage unknown",
                         "0.780 [0.760, 0.800]"]]
    published = {r[2]: r[4] for r in q.rows if r[2].startswith("published")}
    assert published["published: Z-Image report (authors)"] == "0.84"
    assert published["published: Mage-Flow paper (Mage-Flow authors)"] == "0.84†"
    cats = run_tables.category_tables([load_run(run)], baselines)
    assert [t.name for t in cats] == ["categories_geneval"]
    t = cats[0]
    assert t.columns[4:] == ["Single", "Two", "Counting", "Colors", "Position", "Attr. binding", "Overall"]
    row = [r for r in t.rows if r[1] == "zi"][0]
    assert row[6] == "0.700 [0.660, 0.740]" and row[10] == "0.780 [0.760, 0.800]"
    pub = [r for r in t.rows if r[2] == "published: Z-Image report (authors)"][0]
    assert pub[4:] == ["1.00", "0.94", "0.78", "0.93", "0.62", "0.77", "0.84"]


def test_published_vs_reproduced_difference_and_ci_flag(tmp_path, baselines):
    run = make_run(tmp_path, "lt", model="lens-turbo", metrics=geneval_metrics(0.85, 0.025), coverage_block=FULL)
    t = run_tables.published_vs_reproduced([load_run(run)], baselines)
    overall = {r[4]: r for r in t.rows if r[1] == "GenEval" and r[2] == "Overall"}
    paper, mage = overall["Lens paper"], overall["Mage-Flow paper"]
    assert (paper[3], paper[7], paper[8], paper[10], paper[11], paper[12]) == (
        "0.914†", "0.850", "[0.825, 0.875]", "comparable", "-0.064", "yes")
    assert (mage[3], mage[11], mage[12]) == ("0.83†", "+0.020", "no")  # 0.83 lies inside [0.825, 0.875]


def test_published_vs_reproduced_converts_units_and_handles_no_ci(tmp_path, baselines):
    # a DPG scorer reporting a fraction is compared in percent; no CI -> "no CI"
    run = make_run(tmp_path, "zi-dpg", model="z-image", scorer="dpg",
                   metrics=[MetricValue("dpg", 0.8514, 1065, unit="fraction")], coverage_block=FULL)
    t = run_tables.published_vs_reproduced([load_run(run)], baselines)
    row = [r for r in t.rows if r[4] == "Z-Image report"][0]
    assert (row[3], row[7], row[11], row[12]) == ("88.14", "85.14", "-3.00", "no CI")


def test_latency_compared_only_on_matching_device(tmp_path, baselines):
    rows = [speed_row(model="lens-turbo", steps=4, latency_p50_s=0.9),
            speed_row(model="lens-turbo", steps=4, device="cuda:0 NVIDIA A100-SXM4-80GB", latency_p50_s=1.5)]
    run = make_run(tmp_path, "sp", model="lens-turbo", speed=rows)
    t = run_tables.published_vs_reproduced([load_run(run)], baselines)
    lat = [r for r in t.rows if r[1] == "Latency (s)"]
    assert len(lat) == 1 and (lat[0][3], lat[0][7], lat[0][11]) == ("0.84", "0.900", "+0.060")
    assert run_tables.device_matches("1x NVIDIA H100", "NVIDIA H100 80GB HBM3")
    assert not run_tables.device_matches("NVIDIA A100-80GB", "NVIDIA A100-SXM4-40GB")
    assert not run_tables.device_matches("Apple M-series (MLX)", "Apple M2 Max")


def test_speed_and_stage_tables(tmp_path):
    rows = [speed_row(height=512, width=512, megapixels=0.262144, latency_p50_s=0.9, latency_mean_s=1.0,
                      latency_std_s=0.05),
            speed_row(), speed_row(height=2048, width=2048, megapixels=4.194304, status="oom", latency_p50_s="")]
    run = make_run(tmp_path, "sp", speed=rows)
    data = load_run(run)
    t = run_tables.speed_table([data])
    assert [r[2] for r in t.rows] == ["512x512", "1024x1024", "2048x2048"]
    assert t.rows[0][10] == "0.900" and t.rows[0][12] == "1.000 ± 0.050" and t.rows[2][8] == "oom"
    s = run_tables.stage_table([data])
    assert len(s.rows) == 2  # the OOM row has no stage split
    full = s.rows[1]
    assert full[5:10] == ["0.000", "0.200", "2.700", "0.250", "0.050"]
    assert full[11] == "3.200" and full[13] == "84.4%"


def test_speed_csv_validation(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("model,device\nx,y\n")
    with pytest.raises(UserError, match="lacks columns"):
        read_speed_csv(p)
    run = make_run(tmp_path, "bad", speed=[speed_row(status="weird")])
    with pytest.raises(UserError, match="status must be ok, oom or error"):
        load_run(run)
    run = make_run(tmp_path, "bad2", speed=[speed_row(latency_p50_s="fast")])
    with pytest.raises(UserError, match="latency_p50_s must be a number"):
        load_run(run)


def test_load_run_errors_and_unique_labels(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="is it a lensbench run directory"):
        load_run(tmp_path / "empty")
    a = make_run(tmp_path / "x", "same", metrics=geneval_metrics(0.5))
    b = make_run(tmp_path / "y", "same", metrics=geneval_metrics(0.6))
    assert [r.label for r in load_runs([a, b])] == ["same", "same#2"]
    (a / "results" / "geneval.json").write_text("{not json")
    with pytest.raises(UserError, match="not a readable results file"):
        load_run(a)


def test_a_run_appears_only_in_the_tables_of_metrics_it_has(tmp_path):
    gen = load_run(make_run(tmp_path, "ge", metrics=geneval_metrics(0.7)))
    txt = load_run(make_run(tmp_path, "tx", scorer="text", metrics=[
        MetricValue("word_accuracy", 0.4, 8, 0.3, 0.5), MetricValue("word_accuracy", 0.5, 4, category="short")]))
    tables = {t.name: t for t in run_tables.category_tables([gen, txt])}
    assert set(tables) == {"categories_geneval", "categories_text_word_accuracy"}
    assert [r[1] for r in tables["categories_geneval"].rows] == ["ge"]
    assert [r[1] for r in tables["categories_text_word_accuracy"].rows] == ["tx"]
    q = run_tables.quality_table([gen, txt])
    assert sorted(r[1] for r in q.rows) == ["ge", "tx"]  # both have a headline metric


def test_speed_table_megapixels_keep_three_significant_digits(tmp_path):
    rows = [speed_row(height=64, width=64, megapixels=0.004096), speed_row()]
    t = run_tables.speed_table([load_run(make_run(tmp_path, "sp", speed=rows))])
    assert [r[3] for r in t.rows] == ["0.00410", "1.05"]


def test_a_value_without_ci_is_explained_in_the_footnote(tmp_path):
    """stats.bootstrap_ci gives no CI for fewer than 2 prompts (or one per tag): the cell shows the value alone."""
    run = load_run(make_run(tmp_path, "one", metrics=[MetricValue("geneval", 1.0, 1, unit="fraction")]))
    t = run_tables.quality_table([run])
    assert [r[4] for r in t.rows] == ["1.000"]
    assert any("no CI" in n and "fewer than 2 prompts" in n for n in t.notes)
