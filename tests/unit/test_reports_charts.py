"""Chart rules asserted on the matplotlib figure objects (issue 15 item 2): one style, PDF + SVG + PNG, bars from
zero, one value-label format, CI / IQR whiskers labelled, categorical axes not joined, one marker per device,
hatching = uncertain only, a one-point Pareto keeps a meaningful range, contact-sheet labels inside the figure."""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest
from tests.reports_synth import geneval_metrics, make_run

from lensbench.ablation.report import chart_metric_vs_axis, chart_metric_vs_axis_figure
from lensbench.errors import UserError
from lensbench.reports import charts, style
from lensbench.reports.contact import contact_sheet_figure
from lensbench.reports.runs import load_runs


def _bar_patches(ax):
    return [p for p in ax.patches if isinstance(p, matplotlib.patches.Rectangle) and p.get_height() > 0]


def test_grouped_bars_start_at_zero_with_one_label_format_and_ci_label():
    measured = charts.BarSeries("ours", {"a": (0.99, 0.97, 1.0), "b": (0.9, 0.85, 0.93), "c": (1.0, 1.0, 1.0)})
    pub = charts.BarSeries("published, paper", {"a": (0.98, None, None), "b": (0.93, None, None)}, published=True,
                           texts={"a": "0.98", "b": "0.930"})
    unc = charts.BarSeries("published, blog", {"a": (0.97, None, None)}, published=True, uncertain=True)
    fig = charts.grouped_bars_figure([measured, pub, unc], [("a", "A"), ("b", "B"), ("c", "C")], "t", "GenEval",
                                     decimals=3)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0
    labels = [t.get_text() for t in ax.texts]
    ours = labels[:3]
    assert ours == ["0.990", "0.900", "1.000"]  # never %g's "1" / "0.9"
    assert "0.98" in labels and "0.930" in labels  # published values keep their printed precision
    assert "95%" in ax.get_ylabel()
    bars = _bar_patches(ax)
    hatched = {p.get_hatch() for p in bars if p.get_hatch()}
    assert hatched == {style.UNCERTAIN_HATCH} and sum(bool(p.get_hatch()) for p in bars) == 1  # uncertain only
    dashed = [p for p in bars if p.get_linestyle() not in ("-", "solid")]
    assert len(dashed) == 3  # the three published bars: dashed outline
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert style.PUBLISHED_LABEL in legend and style.UNCERTAIN_LABEL in legend


def test_hbar_and_stage_split_start_at_zero():
    fig = charts.hbar_sources_figure([("A — paper", 0.914, "0.914", "published: authors", False),
                                      ("A — other", 0.83, "0.83", "published: independent", True)], "t", "GenEval")
    assert fig.axes[0].get_xlim()[0] == 0
    fig = charts.stage_split_figure([("cfg", [0.1, 0.5, 0.2])], ["text encode", "denoise", "VAE decode"], "t")
    assert fig.axes[0].get_xlim()[0] == 0
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.800 s"]


def test_single_point_pareto_keeps_a_meaningful_range():
    p = charts.Point("tiny (run)", 0.02, 0.5, "measured", device="cpu")
    fig = charts.pareto_figure([charts.Panel("GenEval", [p], frontier=True, full_range=(0, 1))], "t")
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    assert hi - lo >= 0.25 and 0 <= lo < 0.5 < hi <= 1
    xlo, xhi = ax.get_xlim()
    assert xhi / xlo >= 10 and xlo < 0.02 < xhi
    top = charts.y_limits([0.98], (0, 1))
    assert top[1] == 1 and top[1] - top[0] >= 0.25  # clipped to the metric's range, span kept


def test_pareto_marks_each_device():
    pts = [charts.Point("a", 1.0, 0.8, "measured", device="NVIDIA H100"),
           charts.Point("b", 3.0, 0.85, "published: authors", device="NVIDIA A100"),
           charts.Point("c", 2.0, 0.7, "published: independent", uncertain=True, device="NVIDIA H100")]
    fig = charts.pareto_figure([charts.Panel("GenEval", pts, full_range=(0, 1))], "t")
    ax = fig.axes[0]
    colls = [c for c in ax.collections if len(c.get_offsets())]
    shapes = {len(c.get_paths()[0].vertices) for c in colls}
    assert len(shapes) == 2  # circle and square: one marker per device
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "device: NVIDIA A100" in legend and "device: NVIDIA H100" in legend
    assert [bool(c.get_hatch()) for c in colls] == [False, False, True]  # hatch = the uncertain point only


def test_latency_chart_iqr_whiskers_and_device_markers():
    lines = [charts.Line("m · cpu", [0.1, 0.2], [1.0, 2.0], [0.9, 1.8], [1.1, 2.3], device="cpu"),
             charts.Line("m · H100", [0.1, 0.2], [0.1, 0.2], [0.09, 0.18], [0.11, 0.21], device="NVIDIA H100")]
    fig = charts.latency_vs_megapixels_figure(lines, [], "t")
    ax = fig.axes[0]
    assert "interquartile" in ax.get_ylabel() and ax.get_ylim()[0] == 0
    markers = {ln.get_marker() for ln in ax.get_lines() if len(ln.get_xdata()) == 2} - {"_"}  # "_" = caps
    assert len(markers) == 2
    fig = charts.latency_vs_megapixels_figure([charts.Line("m", [0.1], [1.0], device="cpu")], [], "t")
    assert "no whiskers" in fig.axes[0].get_ylabel()


def _abl_rows(axis, values):
    return [{"cell": f"c{i}", axis: v, "value": 0.5 + 0.1 * i, "ci_low": 0.4 + 0.1 * i, "ci_high": 0.6 + 0.1 * i}
            for i, v in enumerate(values)]


def test_ablation_categorical_axis_is_not_joined_numeric_is(tmp_path):
    fig = chart_metric_vs_axis_figure(_abl_rows("language", ["en", "zh", "fr"]), "language", [], "geneval", "c0")
    multi = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 1]
    assert multi and all(ln.get_linestyle() == "None" for ln in multi)
    assert "95%" in fig.axes[0].get_ylabel()
    fig = chart_metric_vs_axis_figure(_abl_rows("steps", [2, 4, 8]), "steps", [], "geneval", "c0")
    assert any(ln.get_linestyle() == "-" for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 1)
    png = chart_metric_vs_axis(tmp_path / "charts" / "g_vs_steps.png", _abl_rows("steps", [2, 4]), "steps", [],
                               "geneval", "c0")
    assert {p.suffix for p in png.parent.iterdir()} == {".pdf", ".svg", ".png"}


def test_save_writes_pdf_svg_png_and_styles_differ_in_width(tmp_path):
    fig = charts.pareto_figure([charts.Panel("q", [charts.Point("a", 1, 0.5, "measured")])], "t")
    paths = charts.save(fig, tmp_path / "x")
    assert [p.suffix for p in paths] == [".pdf", ".svg", ".png"]
    assert paths[0].read_bytes()[:5] == b"%PDF-" and b"<svg" in paths[1].read_bytes()[:400]
    with style.use("slides"):
        wide = charts.grouped_bars_figure([charts.BarSeries("s", {"a": (1.0, None, None)})], [("a", "A")], "t", "y")
    narrow = charts.grouped_bars_figure([charts.BarSeries("s", {"a": (1.0, None, None)})], [("a", "A")], "t", "y")
    assert wide.get_figwidth() > narrow.get_figwidth() * 1.3
    with pytest.raises(UserError, match="chart-style"):
        style.parse_style("poster")


def test_contact_sheet_labels_are_inside_the_figure(tmp_path):
    runs = [make_run(tmp_path, n, model=f"a-model-with-a-long-name-{n}", metrics=geneval_metrics(0.5), images=3)
            for n in ("first-run-label", "second")]
    fig = contact_sheet_figure(load_runs(runs), 3)
    fig.canvas.draw()
    box = fig.bbox
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip() and t.get_visible()]
    assert any(re.search(r"thing 2", t.get_text()) for t in texts)
    for t in texts:
        bb = t.get_window_extent()
        assert bb.x0 >= box.x0 - 1 and bb.x1 <= box.x1 + 1 and bb.y0 >= box.y0 - 1 and bb.y1 <= box.y1 + 1, t.get_text()
    assert np.isfinite([bb.width for bb in [t.get_window_extent() for t in texts]]).all()


def test_pareto_measured_points_carry_ci_whiskers():
    p = charts.Point("ours", 1.0, 0.80, "measured", device="cpu", y_ci=(0.70, 0.88))
    fig = charts.pareto_figure([charts.Panel("GenEval", [p], full_range=(0, 1))], "t")
    ax = fig.axes[0]
    assert "95%" in ax.get_ylabel()
    segs = [seg for c in ax.collections for seg in getattr(c, "get_segments", lambda: [])()]
    assert any(abs(seg[0][1] - 0.70) < 1e-9 and abs(seg[1][1] - 0.88) < 1e-9 for seg in segs)
    lo, hi = ax.get_ylim()
    assert lo <= 0.70 and hi >= 0.88


def test_chart_style_from_the_environment(monkeypatch):
    monkeypatch.setenv("LENSBENCH_CHART_STYLE", "slides")
    assert style.current().name == "slides"
    with style.use("paper"):
        assert style.current().name == "paper"
    monkeypatch.setenv("LENSBENCH_CHART_STYLE", "poster")
    with pytest.raises(UserError, match="chart-style"):
        style.current()


def test_latency_whiskers_come_from_the_raw_latencies(tmp_path):
    import json

    from tests.reports_synth import speed_row

    from lensbench.reports.chart_data import _speed_charts

    run = make_run(tmp_path, "sp", speed=[speed_row(), speed_row(height=512, width=512, megapixels=0.26)])
    vals = [1.0, 2.0, 3.0, 4.0, 5.0]
    rec = {"model": "z-image", "device": "cuda:0 NVIDIA H100 80GB HBM3", "height": 1024, "width": 1024, "steps": 20,
           "batch_size": 1, "dtype": "bfloat16", "latency": {"values": vals}}
    (run / "speed" / "measurements.jsonl").write_text(json.dumps(rec) + "\n" + '{"torn": ')
    rows = load_runs([run])[0].speed
    full = next(r for r in rows if r["width"] == 1024)
    assert (full["latency_p25_s"], full["latency_p75_s"]) == (2.0, 4.0)
    assert next(r for r in rows if r["width"] == 512)["latency_p25_s"] is None  # not recorded: no whisker
    paths = _speed_charts(load_runs([run]), None, tmp_path / "charts")
    assert {p.suffix for p in paths} == {".pdf", ".svg", ".png"}
