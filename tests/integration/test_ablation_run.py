"""run_ablation end to end with a fake generator (fast): cells, shared image cache (a second run generates nothing),
resume, tables with paired deltas, language table, charts, rewriter records, and the dry-run plan."""

from __future__ import annotations

import csv
import json
import os

import pytest

from lensbench.ablation.cache import ImageCache
from lensbench.ablation.paired import PairedSpec, paired_deltas, per_prompt
from lensbench.errors import UserError
from lensbench.rewriters import REWRITERS, Rewriter
from lensbench.ablation.scored import language_table
from lensbench.runners.ablate import run_ablation
from lensbench.store.run_store import RunStore
from tests.ablation_support import FakeGenerator, fake_factory


class UpperRewriter(Rewriter):
    name = "test-upper"

    def identity(self):
        return {"name": self.name, "v": 1}

    def rewrite(self, prompts):
        return [p.upper() for p in prompts]


REWRITERS.register("test-upper", UpperRewriter, replace=True)

GRID = """
name = "fake"
description = "fake generator, steps x language"
suite = "geneval"
[base]
model = "tiny"
height = 32
width = 32
limit = 3
images_per_prompt = 2
device = "cpu"
[axes]
steps = [2, 3]
language = ["en", "fr"]
[control]
steps = 2
language = "en"
[score]
scorer = "test-pixels"
paired_field = "correct"
paired_metric = "pixels"
"""


@pytest.fixture
def grid_file(tmp_path, shared_data):
    path = tmp_path / "fake.toml"
    path.write_text(GRID)
    return path, {"metadata": str(shared_data / "geneval" / "evaluation_metadata.jsonl")}


def _run(grid_file, out, cache, **kw):
    path, opts = grid_file
    return run_ablation(path, out, suite_options=opts, cache_dir=cache, generator_factory=fake_factory, progress=False,
                        n_boot=500, **kw)


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow
def test_ablation_runs_caches_and_reports(grid_file, tmp_path):
    cache = tmp_path / "cache"
    plan = _run(grid_file, tmp_path / "a", cache, dry_run=True)
    assert [c["to_generate"] for c in plan["cells"]] == [6, 6, 6, 6] and plan["totals"]["cached"] == 0
    assert plan["control"] == "steps-2_language-en" and not (tmp_path / "a").exists()  # a dry run writes nothing

    FakeGenerator.loads = FakeGenerator.images = 0
    first = _run(grid_file, tmp_path / "a", cache)
    assert FakeGenerator.images == 24 and FakeGenerator.loads == 1  # one generator shared by all cells
    assert {s["generated"] for s in first["cells"].values()} == {6}
    assert {s["cached_now"] for s in first["cells"].values()} == {6}

    # the tidy table: one row per cell x metric x category, deltas vs the control equal a hand recomputation
    rows = _rows(tmp_path / "a" / "results.csv")
    assert {r["cell"] for r in rows} == set(first["cells"]) and all(r["scorer"] == "test-pixels" for r in rows)
    assert {(r["metric"], r["category"]) for r in rows} == {("pixels", ""), ("pixels", "single_object")}
    ctrl = RunStore(tmp_path / "a" / "cells" / "steps-2_language-en").records("score.test-pixels")
    other = RunStore(tmp_path / "a" / "cells" / "steps-3_language-fr").records("score.test-pixels")
    spec = PairedSpec("pixels", "mean", field="correct")
    (expected,) = paired_deltas(per_prompt(other, spec), per_prompt(ctrl, spec), spec, n_boot=500)
    row = next(r for r in rows if r["cell"] == "steps-3_language-fr" and r["category"] == "")
    assert float(row["delta"]) == pytest.approx(expected.delta, abs=1e-6) and row["paired"] == "true"
    assert float(row["delta_ci_low"]) == pytest.approx(expected.ci_low, abs=1e-6) and row["n_pairs"] == "3"
    assert row["steps"] == "3" and row["language"] == "fr"
    assert all(float(r["delta"]) == 0 for r in rows if r["control"] == "true")
    out = tmp_path / "a"
    for name in ("results.md", "summary.md", "by_language.md", "by_language.csv", "grid.toml", "plan.json", "ablation.json"):
        assert (out / name).is_file(), name
    assert "| en (control) | fr |" in (out / "by_language.md").read_text()
    assert sorted(p.name for p in (out / "charts").glob("*.png")) == ["test-pixels_pixels_vs_language.png",
                                                                      "test-pixels_pixels_vs_steps.png"]
    assert len(list((out / "charts").iterdir())) == 6  # each chart as PDF, SVG and PNG
    # prompts: French cells generated from French prompts; metadata (what the scorer judges) is the official record
    fr = RunStore(out / "cells" / "steps-2_language-fr").records("generate")
    assert all(r["prompt"].startswith("une photo") for r in fr)
    meta = json.loads((out / "cells" / "steps-2_language-fr" / "geneval" / "00000" / "metadata.jsonl").read_text())
    assert meta["prompt"] == "a photo of a bench"

    # a second ablation (another output directory, same cache) generates nothing and gets the same numbers
    second = _run(grid_file, tmp_path / "b", cache)
    assert FakeGenerator.images == 24
    assert {s["generated"] for s in second["cells"].values()} == {0} and {s["reused"] for s in second["cells"].values()} == {6}
    assert {(s["made_in_cell"], s["from_cache"]) for s in second["cells"].values()} == {(0, 6)}
    assert "| 0 | 6 |" in (tmp_path / "b" / "summary.md").read_text()
    strip = [{k: v for k, v in r.items()} for r in _rows(tmp_path / "b" / "results.csv")]
    assert strip == rows
    cell_img = tmp_path / "b" / "cells" / "steps-3_language-en" / "geneval" / "00001" / "samples" / "0001.png"
    key = next(r["key"] for r in RunStore(cell_img.parents[3]).records("generate") if r["image"].endswith("00001/samples/0001.png"))
    assert os.path.samefile(cell_img, cache / key[:2] / f"{key}.png")  # hard link, no copy
    assert (cell_img.parents[1] / "metadata.jsonl").is_file()  # prepare_item ran for imported items
    reused = RunStore(cell_img.parents[3]).records("generate")
    assert all(r["reused"]["from"] == "ablation-cache" for r in reused)

    # resuming the same directory does nothing new
    third = _run(grid_file, tmp_path / "b", cache)
    assert FakeGenerator.images == 24 and {s["already_done"] for s in third["cells"].values()} == {6}
    plan = _run(grid_file, tmp_path / "c", cache, dry_run=True)
    assert plan["totals"] == {"planned": 24, "done": 0, "cached": 24, "to_generate": 0}

    # a torn cache entry (record missing) is not trusted: exactly that image is made again
    (cache / key[:2] / f"{key}.json").unlink()
    fourth = _run(grid_file, tmp_path / "d", cache, score=False)
    assert FakeGenerator.images == 25 and sum(s["generated"] for s in fourth["cells"].values()) == 1
    assert ImageCache(cache).get(key) is not None  # and it is back in the cache


def test_changed_grid_in_the_same_directory_is_refused(grid_file, tmp_path):
    path, opts = grid_file
    _run(grid_file, tmp_path / "a", tmp_path / "cache", score=False)
    path.write_text(GRID.replace("height = 32", "height = 48"))
    with pytest.raises(UserError, match="other settings"):
        _run(grid_file, tmp_path / "a", tmp_path / "cache", score=False)


def test_rewriter_axis_records_prompt_sent_and_no_cache_mode(grid_file, tmp_path):
    path, opts = grid_file
    path.write_text(GRID.replace('language = ["en", "fr"]', 'rewriter = ["none", "test-upper"]')
                    .replace('language = "en"', 'rewriter = "none"'))
    res = _run(grid_file, tmp_path / "r", None, use_cache=False, score=False)
    assert res["cache"] is None
    recs = RunStore(tmp_path / "r" / "cells" / "steps-2_rewriter-test-upper").records("generate")
    assert recs and all(r["prompt_sent"] == r["prompt"].upper() != r["prompt"] for r in recs)
    plain = RunStore(tmp_path / "r" / "cells" / "steps-2_rewriter-none").records("generate")
    assert {r["key"] for r in plain}.isdisjoint({r["key"] for r in recs})  # the rewriter is part of the key


def test_language_table_helper_from_runs(grid_file, tmp_path):
    _run(grid_file, tmp_path / "a", tmp_path / "cache")
    cells = tmp_path / "a" / "cells"
    rows, md = language_table({"en": cells / "steps-2_language-en", "fr": cells / "steps-2_language-fr"},
                              scorer="test-pixels", n_boot=200)
    assert {r["language"] for r in rows} == {"en", "fr"}
    assert md.splitlines()[0] == "| category | en (control) | fr |"
    with pytest.raises(UserError, match="control language"):
        language_table({"fr": cells / "steps-2_language-fr"}, scorer="test-pixels")


def test_scheduler_shift_axis_needs_an_adapter_that_applies_it(grid_file, tmp_path):
    path, opts = grid_file
    shifted = GRID.replace('language = ["en", "fr"]', "shift = [1.0, 3.0]").replace('language = "en"', "shift = 1.0")
    path.write_text(shifted)
    with pytest.raises(UserError, match="does not apply model option scheduler_shift=1.0"):
        _run(grid_file, tmp_path / "s", None, use_cache=False, score=False)
    path.write_text(shifted.replace('device = "cpu"', 'device = "cpu"\nmodel_options = { "pass.apply_shift" = true }'))
    res = _run(grid_file, tmp_path / "s2", None, use_cache=False, score=False)
    assert {s["generated"] for s in res["cells"].values()} == {6}
    m = json.loads((tmp_path / "s2" / "cells" / "steps-2_shift-3.0" / "manifest.json").read_text())
    assert m["generation"]["model_options"]["scheduler_shift"] == 3.0


def test_chart_style_slides_draws_the_ablation_charts_at_slide_size(grid_file, tmp_path, monkeypatch, capsys):
    from PIL import Image
    from typer.testing import CliRunner

    from lensbench.cli import app, main
    from lensbench.reports.style import STYLES

    monkeypatch.delenv("LENSBENCH_CHART_STYLE", raising=False)
    res = _run(grid_file, tmp_path / "s", tmp_path / "cache", chart_style="slides")
    slides = STYLES["slides"]
    for png in res["charts"]:
        with Image.open(png) as im:
            assert abs(im.width - 0.75 * slides.width_in * slides.dpi) <= 2, (png, im.size)
    # the CLI flag: a bad value is a one-line error (exit 2) before anything runs
    with pytest.raises(SystemExit) as exc:
        main(["ablate", str(grid_file[0]), "--out", str(tmp_path / "bad"), "--chart-style", "poster"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("error: unknown --chart-style 'poster'") and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()
    assert "--chart-style" in CliRunner().invoke(app, ["ablate", "--help"]).output
