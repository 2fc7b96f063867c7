"""build_report: the committed published report regenerates byte for byte; charts are written; CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lensbench.cli import report as report_cli
from lensbench.errors import UserError
from lensbench.reports import build_report
from tests.reports_synth import geneval_metrics, make_run, speed_row

REPO = Path(__file__).resolve().parents[2]
PUBLISHED = REPO / "reports" / "published"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_published_report_tables_regenerate_byte_for_byte(tmp_path):
    paths = build_report([], tmp_path, "md,csv,latex,html", published=True, baselines_dir=REPO / "lensbench" / "baselines" / "data",
                         charts=False)
    assert all(p.stat().st_size > 0 for p in paths)
    new, committed = _tree(tmp_path / "tables"), _tree(PUBLISHED / "tables")
    assert sorted(new) == sorted(committed), "regenerate with: lensbench report --published --out reports/published"
    for name in committed:
        assert new[name] == committed[name], f"{name} differs from the committed report; regenerate it"


def test_committed_published_charts_exist():
    for stem in ("pareto_quality_latency", "geneval_categories", "dpg_categories", "geneval_by_source"):
        png = PUBLISHED / "charts" / f"{stem}.png"
        assert png.read_bytes()[:8] == PNG_MAGIC
        svg = (PUBLISHED / "charts" / f"{stem}.svg").read_text()
        assert "<svg" in svg and "<dc:date>" not in svg
        pdf = (PUBLISHED / "charts" / f"{stem}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and b"CreationDate" not in pdf


def test_readme_shows_the_committed_comparison_table_and_a_chart():
    readme = (REPO / "README.md").read_text()
    table = (PUBLISHED / "tables" / "comparison.md").read_text().split("\n", 2)[2]
    rows = [ln for ln in table.splitlines() if ln.startswith("|")]
    assert len(rows) > 10
    assert table.strip() in readme, "README's Published comparison table is stale: copy reports/published/tables/comparison.md"
    assert "](reports/published/charts/" in readme


def test_run_report_writes_tables_and_nonempty_charts(tmp_path):
    tags = {"single_object": 0.99, "two_object": 0.9, "counting": 0.7, "colors": 0.88, "position": 0.55, "color_attr": 0.68}
    a = make_run(tmp_path / "runs", "zi", model="z-image", metrics=geneval_metrics(0.80, 0.02, tags), images=3)
    b = make_run(tmp_path / "runs", "lt", model="lens-turbo", params_b=3.8, metrics=geneval_metrics(0.85, 0.02), images=3)
    s = make_run(tmp_path / "runs", "sp", model="z-image",
                 speed=[speed_row(height=h, width=h, megapixels=h * h / 1e6) for h in (512, 1024)]
                 + [speed_row(height=2048, width=2048, megapixels=4.19, status="oom", latency_p50_s="")])
    out = tmp_path / "report"
    paths = build_report([a, b, s], out, ["md", "csv"], published=True, baselines_dir=REPO / "lensbench" / "baselines" / "data")
    names = {p.relative_to(out).as_posix() for p in paths}
    for t in ("quality", "categories_geneval", "published_vs_reproduced", "speed", "stage_split"):
        assert {f"tables/{t}.md", f"tables/{t}.csv"} <= names
    for c in ("pareto_geneval", "geneval_categories", "latency_vs_megapixels", "stage_split", "contact_sheet"):
        assert (out / "charts" / f"{c}.png").read_bytes()[:8] == PNG_MAGIC
        assert ET.parse(out / "charts" / f"{c}.svg").getroot().tag.endswith("svg")
        assert (out / "charts" / f"{c}.pdf").read_bytes().startswith(b"%PDF-")
        assert (out / "charts" / f"{c}.png").stat().st_size > 5000
    index = (out / "README.md").read_text()
    assert "![pareto_geneval](charts/pareto_geneval.png)" in index and "## Published vs reproduced" in index


def test_report_needs_runs_or_published(tmp_path):
    with pytest.raises(UserError, match="nothing to report"):
        build_report([], tmp_path, "md", published=False)


def test_cli_report(tmp_path):
    app = typer.Typer()
    report_cli.register(app)
    runner = CliRunner()
    r = runner.invoke(app, ["report", "--published", "--no-charts", "--format", "md,csv", "--out", str(tmp_path / "o"),
                            "--baselines", str(REPO / "lensbench" / "baselines" / "data")])
    assert r.exit_code == 0, r.output
    assert "wrote 22 table files and 0 chart files" in r.output
    assert (tmp_path / "o" / "tables" / "comparison.csv").read_text().startswith("Model,Reported in,Measured by,GenEval")
    r = runner.invoke(app, ["report", "--format", "pdf", "--published", "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "unknown report format 'pdf'" in r.output
    r = runner.invoke(app, ["report", str(tmp_path / "no-such-run"), "--out", str(tmp_path / "q")])
    assert r.exit_code == 2 and "does not exist" in r.output
