"""GenEval end to end on tiny local models (CPU): generate -> detect -> classify -> decide -> summary, the
official layout and results schema, resume, folders from other tools, and calibrate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from lensbench.scorers.geneval.decision import DecisionOptions, KeptObject, evaluate
from lensbench.scorers.geneval.summary import RESULT_FIELDS
from lensbench.scorers.geneval.tools import calibrate, summarize_results
from tests.geneval_support import write_tiny_metadata

pytestmark = pytest.mark.slow

TINY = {"detector": "tiny", "clip": "tiny", "tiny_labels": "dog,cat,car"}


@pytest.fixture(scope="module")
def env(tmp_path_factory, shared_data):
    """A 6-prompt GenEval metadata file (one official record per tag, classes the tiny detector knows)."""
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("geneval")
    mp.setenv("LENSBENCH_CACHE", str(root / "cache"))
    meta = root / "meta.jsonl"
    n = write_tiny_metadata(shared_data, meta, single_object_extra=frozenset({"bench"}))
    yield root, meta, n
    mp.undo()


@pytest.fixture(scope="module")
def scored_run(env):
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate
    from lensbench.runners.score import run_score

    root, meta, n = env
    run = root / "run"
    cfg = RunConfig(model="tiny", suite="geneval", suite_options={"metadata": str(meta)}, out=str(run),
                    images_per_prompt=2, height=64, width=64, steps=2, progress=False)
    gen = run_generate(cfg)
    assert gen["generated"] == 2 * n
    score = run_score(run, "geneval", dict(TINY), progress=False)
    return run, meta, n, score


def test_generate_writes_the_official_layout(scored_run):
    run, meta, n, _ = scored_run
    lines = meta.read_text().splitlines()
    folders = sorted(p.name for p in (run / "geneval").iterdir() if p.is_dir())
    assert folders == [f"{i:05d}" for i in range(n)]
    for i, line in enumerate(lines):
        with open(run / "geneval" / f"{i:05d}" / "metadata.jsonl") as fh:
            assert json.load(fh) == json.loads(line)
        assert sorted(p.name for p in (run / "geneval" / f"{i:05d}" / "samples").iterdir()) == ["0000.png", "0001.png"]


def test_results_are_in_the_official_schema_and_summaries_agree(scored_run):
    run, meta, n, score = scored_run
    rows = [json.loads(x) for x in (run / "geneval" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * n and all(list(r) == list(RESULT_FIELDS) for r in rows)
    assert {r["metadata"] for r in rows} == {json.dumps(json.loads(x)) for x in meta.read_text().splitlines()}
    assert all(isinstance(r["correct"], bool) and isinstance(json.loads(r["details"]), dict) for r in rows)
    results = json.loads((run / "results" / "geneval.json").read_text())
    head = [m for m in results["metrics"] if m["metric"] == "geneval" and m["category"] is None][0]
    official = summarize_results(run / "geneval" / "results.jsonl")["summary"]
    assert head["value"] == pytest.approx(official["overall"])
    tag_values = {m["category"]: m["value"] for m in results["metrics"] if m["metric"] == "geneval" and m["category"]}
    assert tag_values == pytest.approx(official["tags"])
    s = results["settings"]
    assert s["decision"] == DecisionOptions().to_dict() and s["detector"]["backend"] == "tiny"
    assert s["color_classifier"]["bgcolor"] == "#999" and len(s["color_classifier"]["templates"]) == 3
    assert results["suite"]["official_metadata"] is False  # a 6-record subset, not the pinned file


def test_pandas_reads_results_like_the_official_summary_script(scored_run):
    pd = pytest.importorskip("pandas")
    run, *_ = scored_run
    df = pd.read_json(run / "geneval" / "results.jsonl", orient="records", lines=True)
    tag_means = df.groupby("tag", sort=False)["correct"].mean()
    official = summarize_results(run / "geneval" / "results.jsonl")["summary"]
    assert list(tag_means.index) == list(official["tags"]) and float(np.mean(tag_means)) == pytest.approx(official["overall"])
    assert len(df.groupby("metadata")) == official["n_prompts"]
    assert float(df.groupby("metadata")["correct"].any().mean()) == pytest.approx(official["correct_prompts"])


def test_recorded_decisions_follow_from_recorded_detections_and_colours(scored_run):
    from lensbench.store.run_store import RunStore

    run, *_ = scored_run
    recs = RunStore(run).records("score.geneval")
    items = {i: json.loads(x) for i, x in enumerate(scored_run[1].read_text().splitlines())}
    n_colour_calls = 0
    for r in recs:
        kept = {c: [KeptObject(np.asarray(b, np.float32), None) for b in boxes] for c, boxes in r["details"].items()}
        answers = [tuple(x["colors"]) for x in r["colors"]]
        n_colour_calls += len(answers)
        correct, reason = evaluate(items[int(r["item_id"])], kept, lambda c, o, a=iter(answers): next(a))
        assert (correct, reason) == (r["correct"], r["reason"])
        assert all(b[4] > 0.3 for boxes in r["details"].values() for b in boxes)
    assert n_colour_calls > 0  # the colour classifier ran in the full path


def test_rescoring_is_a_no_op_and_results_survive(scored_run):
    from lensbench.runners.score import run_score

    run, *_ = scored_run
    before = (run / "geneval" / "results.jsonl").read_text()
    again = run_score(run, "geneval", dict(TINY), progress=False)
    assert again["scored_now"] == 0
    assert (run / "geneval" / "results.jsonl").read_text() == before


def test_official_layout_round_trip_through_a_foreign_folder(scored_run, tmp_path):
    """Copy only the official layout (no manifest, no records), score it as another tool's output: same decisions."""
    from lensbench.runners.score import run_score

    run, *_ = scored_run
    foreign = tmp_path / "their_outputs"
    shutil.copytree(run / "geneval", foreign, ignore=shutil.ignore_patterns("results.jsonl"))
    res = run_score(foreign, "geneval", dict(TINY), progress=False)
    assert res["units"] == len(list(foreign.glob("*/samples/*.png")))
    theirs = {(r["metadata"], "/".join(r["filename"].split("/")[-3:])): (r["correct"], r["reason"])
              for r in map(json.loads, (foreign / "results.jsonl").read_text().splitlines())}
    ours = {(r["metadata"], "/".join(r["filename"].split("/")[-3:])): (r["correct"], r["reason"])
            for r in map(json.loads, (run / "geneval" / "results.jsonl").read_text().splitlines())}
    assert theirs == ours


def test_calibrate_same_weights_under_two_backend_names_agree_fully(scored_run):
    from lensbench.scorers.geneval.tiny import ensure_tiny_mask2former

    run, *_ = scored_run
    path = ensure_tiny_mask2former(["dog", "cat", "car"])
    opts = {"clip": "tiny", "tiny_labels": "dog,cat,car", "detector_model": str(path), "input_size": "processor", "device": "cpu"}
    res = calibrate(run, ["tiny", "hf-mask2former"], opts, limit=6)
    assert res["n_images"] == 6 and res["agreement"]["overall"]["agreement"] == 1.0
    assert (run / "results" / "geneval_calibration.json").exists()


def test_cli_score_summarize_and_export(scored_run, capsys):
    from lensbench.cli import main

    run, *_ = scored_run
    (run / "geneval" / "results.jsonl").unlink()
    main(["geneval", "export", str(run)])  # success returns (exit code 0); errors would sys.exit(2)
    assert (run / "geneval" / "results.jsonl").exists()
    main(["geneval", "summarize", str(run / "geneval" / "results.jsonl"), "--json"])
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert set(json.loads(out)) >= {"overall", "tags"}
