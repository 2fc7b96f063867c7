"""DPG-Bench end to end: tiny generator -> tiles + official 2x2 grids -> tiny BLIP VQA -> results/dpg.json."""

from __future__ import annotations

import json

import pytest
from PIL import Image

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from lensbench.config import RunConfig  # noqa: E402
from lensbench.runners.generate import run_generate  # noqa: E402
from lensbench.runners.score import run_score  # noqa: E402
from lensbench.suites.grid import crop_tiles  # noqa: E402
from lensbench.store.run_store import RunStore  # noqa: E402
from tests.dpg_support import write_csv, write_prompts  # noqa: E402
from tests.helpers import run_cli  # noqa: E402


@pytest.fixture(scope="module")
def dpg_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dpg")
    prompts, csv_path = write_prompts(tmp / "prompts"), write_csv(tmp / "q.csv")
    out = tmp / "run"
    cfg = RunConfig(model="tiny", suite="dpg", suite_options={"prompts": str(prompts)}, out=str(out), limit=2,
                    height=64, width=64, steps=2, progress=False)  # fmt: skip
    summary = run_generate(cfg)
    return {"tmp": tmp, "out": out, "csv": csv_path, "prompts": prompts, "summary": summary}


def _metric(results, name, category=None):
    return next(m for m in results["metrics"] if m["metric"] == name and m["category"] == category)


@pytest.mark.slow
def test_generate_writes_tiles_and_official_grids(dpg_run):
    out = dpg_run["out"]
    assert dpg_run["summary"]["generated"] == 8  # 2 prompts x default 4 images
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["suite"]["name"] == "dpg" and manifest["generation"]["images_per_prompt"] == 4
    for item_id in ("itemA", "itemB"):
        with Image.open(out / "dpg" / f"{item_id}.png") as grid:
            assert grid.size == (128, 128)
            crops = crop_tiles(grid.convert("RGB"), 64)
        for n, crop in enumerate(crops):
            with Image.open(out / "dpg" / "tiles" / item_id / f"{n}.png") as tile:
                assert crop.tobytes() == tile.convert("RGB").tobytes()


@pytest.mark.slow
def test_score_official_defaults_then_resume(dpg_run, monkeypatch, tmp_path):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    opts = {"backend": "tiny", "answer_bias": "yes", "csv": str(dpg_run["csv"])}
    r = run_score(dpg_run["out"], "dpg", opts, progress=False)
    assert r["units"] == 2 and r["scored_now"] == 2
    res = json.loads((dpg_run["out"] / "results" / "dpg.json").read_text())
    assert _metric(res, "dpg")["value"] == 100.0 and _metric(res, "dpg")["n"] == 1  # itemA dropped (row-0 quirk)
    assert _metric(res, "dpg_excluded_prompts")["value"] == 1
    assert res["settings"]["skip_first_row"] is True and res["settings"]["vqa"]["backend"] == "tiny"
    recs = {r["key"]: r for r in RunStore(dpg_run["out"]).records("score.dpg")}
    assert set(recs) == {"dpg/itemA", "dpg/itemB"} and recs["dpg/itemB"]["tile_scores"] == [1.0] * 4
    again = run_score(dpg_run["out"], "dpg", opts, progress=False)
    assert again["scored_now"] == 0


@pytest.mark.slow
def test_discovered_grid_folder_scores_like_the_run(dpg_run, monkeypatch, tmp_path):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "grids"  # grids as another tool would leave them (plus a stray non-item file)
    folder.mkdir()
    for item_id in ("itemA", "itemB"):
        (folder / f"{item_id}.png").write_bytes((dpg_run["out"] / "dpg" / f"{item_id}.png").read_bytes())
    Image.new("RGB", (8, 8)).save(folder / "notanitem.png")
    (folder / "dpg-bench_results.txt").write_text("official scorer output")
    opts = {"backend": "tiny", "answer_bias": "no", "csv": str(dpg_run["csv"]), "prompts": str(dpg_run["prompts"]),
            "skip_first_row": "false"}  # fmt: skip
    r = run_score(folder, "dpg", opts, progress=False)
    assert r["units"] == 2
    res = r["results"]
    assert _metric(res, "dpg")["value"] == 0.0 and _metric(res, "dpg")["n"] == 2
    assert res["model"] == {"name": "external"} and any("row 0 kept" in d for d in res["settings"]["deviations"])
    rec = next(x for x in RunStore(folder).records("score.dpg") if x["key"] == "dpg/itemA")
    assert rec["pic_num"] == 4 and rec["resolution"] == 64


@pytest.mark.slow
def test_cli_score_missing_csv_is_one_line_error(dpg_run, tmp_path):
    proc = run_cli("score", str(dpg_run["out"]), "--suite", "dpg", "-O", "backend=tiny",
                   env={"LENSBENCH_CACHE": str(tmp_path / "empty-cache")})  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: DPG-Bench scoring needs the question CSV")


def test_cli_check_csv(tmp_path):
    csv_path = write_csv(tmp_path / "q.csv")
    proc = run_cli("dpg", "check-csv", str(csv_path))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["items"], out["questions"], out["skip_first_row"]) == (2, 6, True)
    assert out["dropped_row"]["question_natural_language"] == "Is there a cat?"
    kept = json.loads(run_cli("dpg", "check-csv", str(csv_path), "--keep-first-row").stdout)
    assert kept["questions"] == 7 and kept["dropped_row"] is None
    bad = run_cli("dpg", "check-csv", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: DPG-Bench question CSV") and "Traceback" not in bad.stderr
