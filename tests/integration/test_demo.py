"""`lensbench demo`: the embedded default runs every stage on CPU without network and says what it means."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def test_demo_end_to_end_and_resumes(tmp_path):
    out = tmp_path / "demo"
    p = run_cli("demo", "--out", str(out), "--no-progress", env={"LENSBENCH_CACHE": str(tmp_path / "cache")})
    assert p.returncode == 0, p.stderr[-2000:]
    from tests.integration.test_terminal import assert_no_library_noise

    assert_no_library_noise(p.stderr)  # fresh cache: the tiny builds' progress bars and warnings stay silent
    assert "RANDOM weights" in p.stdout and "meaningless" in p.stdout and "reports/published" in p.stdout
    gen = json.loads((out / "tiny-geneval-64x64" / "results" / "geneval.json").read_text())
    assert gen["settings"] and any(m["metric"] == "geneval" and m["category"] is None for m in gen["metrics"])
    assert (out / "tiny-geneval-64x64" / "geneval" / "00000" / "metadata.jsonl").exists()  # official layout
    assert len(list((out / "tiny-geneval-64x64" / "geneval").rglob("samples/*.png"))) == 12
    assert (out / "tiny-text-128x64" / "results" / "text.json").exists()
    assert (out / "tiny-speed" / "speed" / "measurements.csv").exists()
    # the summary names every stage the help promises (generate, score, speed, report), speed included
    assert f"speed tiny: 4 configurations measured -> {out / 'tiny-speed'}" in p.stdout
    report = out / "report"
    assert "## Quality" in (report / "README.md").read_text()
    charts = list((report / "charts").glob("*.png"))
    assert charts and all(c.stat().st_size > 1000 for c in charts)
    # a second demo reuses every image
    p2 = run_cli("demo", "--out", str(out), "--no-progress", env={"LENSBENCH_CACHE": str(tmp_path / "cache")})
    assert p2.returncode == 0, p2.stderr[-2000:]
    assert "12 new" not in p2.stdout and "0 new, 12 reused" in p2.stdout
    assert "speed tiny: 4 configurations reused" in p2.stdout
