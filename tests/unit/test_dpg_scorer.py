"""DpgScorer plumbing with a scripted VQA backend: units, crops in official order, records, summary, quirk flag."""

from __future__ import annotations

import pytest
from PIL import Image

from lensbench.errors import UnknownNameError, UserError
from lensbench.scorers import SCORERS
from lensbench.scorers.dpg.backends import OFFICIAL_MPLUG
from lensbench.scorers.dpg.official import category_scores, official_category_entries, score_item
from lensbench.scorers.dpg.questions import read_question_csv
from lensbench.scorers.dpg.scorer import DpgScorer
from lensbench.suites.dpg import dpg_suite
from tests.dpg_support import TILE_COLORS, ScriptedBackend, write_csv, write_prompts

SCRIPT = {
    (1, "Is there a tree?"): "no",  # itemB tile 1: q2 = 0 -> q3 zeroed -> 1/3
    (3, "Are there three trees?"): "Yes",  # not exactly 'yes' -> 0 on tile 3 -> 2/3
    (0, "Is there a cat?"): "no",  # itemA tile 0 (only asked when row 0 is kept)
}


def make_run(tmp_path, r=16, n=4):
    suite = dpg_suite(None, {"prompts": str(write_prompts(tmp_path / "prompts")), "csv": str(write_csv(tmp_path / "q.csv"))})
    run, records = tmp_path / "run", []
    for item in suite.items():
        rels = []
        for i in range(n):
            rel = suite.image_relpath(item, i)
            (run / rel).parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (r, r), TILE_COLORS[i]).save(run / rel)
            rels.append(rel)
            records.append({"key": f"k-{item.id}-{i}", "item_id": item.id, "index": i, "image": rel, "status": "ok"})
        suite.finalize_item(run, item, rels)
    return suite, run, records


def score(tmp_path, options=None, n=4):
    suite, run, records = make_run(tmp_path, n=n)
    scorer = DpgScorer({"vqa_batch_size": 5, **(options or {})})
    scorer.backend = ScriptedBackend(SCRIPT)
    units = scorer.units(suite, records)
    recs = scorer.score_batch(run, units)
    return scorer, suite, units, recs


def metric(metrics, name, category=None):
    return next(m for m in metrics if m.metric == name and m.category == category)


def test_units_one_per_grid(tmp_path):
    suite, run, records = make_run(tmp_path)
    records.append({"key": "x", "item_id": "itemB", "index": 9, "image": "gone.png", "status": "failed"})
    units = DpgScorer({}).units(suite, records)
    assert [u.key for u in units] == ["dpg/itemA", "dpg/itemB"]
    assert units[0].images == ("dpg/itemA.png",) and units[0].info == {"pic_num": 4}


def test_official_defaults_row0_quirk_excludes_item(tmp_path):
    scorer, suite, units, recs = score(tmp_path)
    a, b = recs
    assert scorer.backend.calls == [5, 5, 5, 5, 4]  # 2 grids x 4 tiles x 3 questions, batched by 5
    assert "depends on proposition 1" in a["excluded"] and "prompt_score" not in a
    assert b["tile_scores"] == [1.0, pytest.approx(1 / 3), 1.0, pytest.approx(2 / 3)]
    assert b["prompt_score"] == pytest.approx(0.75)
    q3 = b["questions"][2]
    assert q3["answers"] == ["yes", "yes", "yes", "Yes"]
    assert (q3["raw"], q3["final"], q3["valid"]) == ([1.0, 1.0, 1.0, 0.0], [1.0, 0, 1.0, 0.0], [True, False, True, True])
    assert (b["resolution"], b["pic_num"], b["grid_size"]) == (16, 4, [32, 32])
    metrics = scorer.summarize(recs, suite)
    assert metric(metrics, "dpg").value == pytest.approx(75.0) and metric(metrics, "dpg").n == 1
    assert metric(metrics, "dpg_excluded_prompts").value == 1
    # official categories: last tile, raw; corrected: all tiles after dependencies
    assert {m.category: m.value for m in metrics if m.metric == "dpg" and m.category} == {
        "entity": 100.0, "global": 100.0, "other": 0.0}  # fmt: skip
    assert {m.category: m.value for m in metrics if m.metric == "dpg_corrected"} == {
        "entity": 75.0, "global": 100.0, "other": 50.0}  # fmt: skip
    assert metric(metrics, "dpg_l2", "other - count").value == 0.0
    s = scorer.settings()
    assert s["skip_first_row"] is True and s["answer_mode"] == "exact" and s["csv_sha256"]
    assert s["deviations"] == ["mPLUG checkpoint 'scripted' instead of " + OFFICIAL_MPLUG] and s["n_items_in_csv"] == 2
    assert DpgScorer({}).settings()["deviations"] == []
    vqa = DpgScorer({}).settings()["vqa"]
    assert vqa == {"backend": "mplug", "official": True, "model": OFFICIAL_MPLUG, "device": "auto"}


def test_quirk_off_scores_first_item(tmp_path):
    scorer, suite, units, recs = score(tmp_path, {"skip_first_row": "false"})
    a, b = recs
    assert a["tile_scores"] == [0.25, 1.0, 1.0, 1.0] and a["prompt_score"] == 0.8125
    metrics = scorer.summarize(recs, suite)
    assert metric(metrics, "dpg").value == pytest.approx(78.125)
    assert metric(metrics, "dpg_excluded_prompts").value == 0
    assert any("row 0 kept" in d for d in scorer.settings()["deviations"])


def test_summary_categories_match_pure_functions(tmp_path):
    scorer, suite, units, recs = score(tmp_path, {"skip_first_row": False})
    table = read_question_csv(tmp_path / "q.csv", skip_first_row=False)
    entries = []
    for rec in recs:
        qs = table.get(rec["item_id"])
        per_tile = [{q["qid"]: q["answers"][t] for q in rec["questions"]} for t in range(4)]
        entries += official_category_entries(qs, score_item(qs, per_tile))
    metrics = scorer.summarize(recs, suite)
    expected = category_scores(entries)
    assert {m.category: m.value for m in metrics if m.metric == "dpg" and m.category} == pytest.approx(expected)
    for m in metrics:
        if m.metric != "dpg_excluded_prompts" and m.n > 1:  # one prompt: no CI (nan)
            assert m.ci_low <= m.value + 1e-9 and m.value - 1e-9 <= m.ci_high and m.unit == "percent"


def test_normalized_answers_and_fewer_tiles_are_deviations(tmp_path):
    scorer, suite, units, recs = score(tmp_path, {"answer_mode": "normalized", "pic_num": 2}, n=2)
    assert recs[1]["pic_num"] == 2 and recs[1]["tile_scores"] == [1.0, pytest.approx(1 / 3)]
    scorer.summarize(recs, suite)
    dev = scorer.settings()["deviations"]
    assert any("normalisation" in d for d in dev) and any("2 tile(s)" in d for d in dev)


def test_missing_grid_and_unknown_item(tmp_path):
    suite, run, records = make_run(tmp_path)
    (run / "dpg" / "itemB.png").unlink()
    table_rows = read_question_csv(tmp_path / "q.csv")
    scorer = DpgScorer({})
    scorer.backend = ScriptedBackend()
    units = scorer.units(suite, records)
    scorer.questions = table_rows
    del scorer.questions.items["itemA"]
    a, b = scorer.score_batch(run, units)
    assert "not in the question CSV" in a["excluded"]
    assert b["status"] == "failed" and "cannot read grid" in b["error"]


def test_options_are_checked():
    assert isinstance(SCORERS.get("dpg")({"backend": "blip"}), DpgScorer)
    with pytest.raises(UnknownNameError, match="did you mean"):
        DpgScorer({"backend": "mplu"})
    for bad, msg in [({"skip_first_row": "maybe"}, "true or false"), ({"answer_mode": "fuzzy"}, "answer_mode"),
                     ({"pic_num": "5"}, "between 1 and 4"), ({"vqa_batch_size": "x"}, "integer"), ({"foo": 1}, "unknown")]:  # fmt: skip
        with pytest.raises(UserError, match=msg):
            DpgScorer(bad)
    assert DpgScorer({"backend": "vlm"}).answer_mode == "normalized"  # VLM sentences; recorded as a deviation


def test_missing_csv_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    suite = dpg_suite(None, {"prompts": str(write_prompts(tmp_path / "p"))})
    with pytest.raises(UserError, match="needs the question CSV.*-O csv=PATH"):
        DpgScorer({}).units(suite, [])


def test_mplug_without_modelscope_is_a_clear_error():
    import importlib.util

    if importlib.util.find_spec("modelscope") is not None:
        pytest.skip("modelscope is installed")
    with pytest.raises(UserError, match="modelscope"):
        DpgScorer({"backend": "mplug"}).load()


def test_mplug_backend_calls_the_official_pipeline(monkeypatch):
    """A stand-in `modelscope` module: the backend builds the official pipeline and returns result['text'] as is."""
    import sys
    import types

    calls = {}

    def pipeline(task, model, device):
        calls["build"] = (task, model, device)
        return lambda inp: {"text": "yes" if "cat" in inp["question"] else "No."}

    ms = types.ModuleType("modelscope")
    pipelines = types.ModuleType("modelscope.pipelines")
    pipelines.pipeline = pipeline
    utils = types.ModuleType("modelscope.utils")
    constant = types.ModuleType("modelscope.utils.constant")
    constant.Tasks = types.SimpleNamespace(visual_question_answering="visual-question-answering")
    for name, mod in [("modelscope", ms), ("modelscope.pipelines", pipelines), ("modelscope.utils", utils),
                      ("modelscope.utils.constant", constant)]:  # fmt: skip
        monkeypatch.setitem(sys.modules, name, mod)
    scorer = DpgScorer({"backend": "mplug", "device": "cpu"})
    scorer.load()
    assert calls["build"] == ("visual-question-answering", OFFICIAL_MPLUG, "cpu")
    im = Image.new("RGB", (8, 8))
    assert scorer.backend.answer([im, im], ["Is there a cat?", "Is there a dog?"]) == ["yes", "No."]


def test_discover_builds_suite_from_csv_text_when_no_prompts(tmp_path, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path / "cache"))
    suite, run, _ = make_run(tmp_path)
    scorer = DpgScorer({"csv": str(tmp_path / "q.csv")})
    found_suite, records = scorer.discover(run / "dpg")  # the grids; the tiles/ subfolder is not an image
    assert {it.id: it.prompt for it in found_suite.items()} == {
        "itemA": "A black cat next to a dog.", "itemB": "A photo of three trees."}  # fmt: skip
    assert [(r["key"], r["grid"], r["index"]) for r in records] == [("dpg/itemA", True, 0), ("dpg/itemB", True, 0)]
    units = scorer.units(found_suite, records)
    assert units[0].images == (str((run / "dpg" / "itemA.png").resolve()),) and units[0].info["pic_num"] == 4
    (run / "dpg" / "itemA.jpg").write_bytes((run / "dpg" / "itemA.png").read_bytes())
    with pytest.raises(UserError, match="two images for item 'itemA'"):
        scorer.discover(run / "dpg")
    with pytest.raises(UserError, match="no manifest.json and no grid images"):
        scorer.discover(run / "dpg" / "tiles")


def test_records_from_other_settings_are_never_mixed(tmp_path):
    scorer, suite, units, recs = score(tmp_path)
    assert recs[1]["fingerprint"] == scorer.fingerprint()
    scorer.summarize(recs, suite)  # same settings: fine
    other = DpgScorer({"skip_first_row": False})
    other.units(suite, [])  # loads the CSV
    assert other.fingerprint() != scorer.fingerprint()
    with pytest.raises(UserError, match="2 DPG records were scored with other settings"):
        other.summarize(recs, suite)
