"""Scorer fingerprints and coverage (issue 13 items 1 and 2, results side).

Defect 1: re-scoring with other scorer options reused the old records ("scored 0 new") and relabelled them with
the new settings; after a tiny scoring, an offline default scoring claimed hf-mask2former over tiny decisions.
Now every record carries the scorer fingerprint, records are reused only under the same one, and results list
the fingerprint of exactly the records they aggregate. Defect 2 (results side): a --limit run of the official
GenEval metadata is marked partial, with its coverage.

Images come from the fake generator (noise, no torch work); the scorers are the real tiny GenEval models.
"""

from __future__ import annotations

import json

import pytest

from lensbench.errors import UserError
from tests.fakes import FakeGenerator
from tests.geneval_support import write_tiny_metadata
from tests.helpers import assert_user_error, run_cli_inprocess

pytestmark = pytest.mark.slow

TINY = {"detector": "tiny", "clip": "tiny"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("fp")
    mp.setenv("LENSBENCH_CACHE", str(root / "cache"))
    yield root
    mp.undo()


def _generate(out, metadata, limit=None, n_images=1):
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate

    cfg = RunConfig(model="tiny", suite="geneval", suite_options={"metadata": str(metadata)}, out=str(out),
                    images_per_prompt=n_images, height=64, width=64, steps=2, progress=False, limit=limit)
    run_generate(cfg, generator=FakeGenerator(batch_invariant=True))
    return out


@pytest.fixture(scope="module")
def run(cache, shared_data):
    meta = cache / "meta.jsonl"
    write_tiny_metadata(shared_data, meta)
    return _generate(cache / "run", meta, n_images=2)


def _results(run):
    return json.loads((run / "results" / "geneval.json").read_text())


def test_other_tiny_labels_score_fresh_records_and_never_relabel(run):
    from lensbench.runners.score import run_score
    from lensbench.store.run_store import RunStore

    first = run_score(run, "geneval", {**TINY, "tiny_labels": "cow,clock"}, progress=False)
    assert first["scored_now"] == first["units"] > 0
    res1 = _results(run)
    assert res1["fingerprint"]["detector"]["backend"] == "tiny" and res1["fingerprint_id"]
    second = run_score(run, "geneval", dict(TINY), progress=False)  # default labels: other detector weights
    assert second["scored_now"] == second["units"]  # before: "scored 0 new", old records relabelled
    res2 = _results(run)
    assert res2["fingerprint_id"] != res1["fingerprint_id"] and res2["n_scored"] == second["units"]
    assert res2["fingerprint"]["detector"]["weights"] != res1["fingerprint"]["detector"]["weights"]
    lines = [json.loads(x) for f in (run / "records").glob("score.geneval.*.jsonl") for x in f.read_text().splitlines()]
    assert {r["fingerprint_id"] for r in lines} == {res1["fingerprint_id"], res2["fingerprint_id"]}
    assert all(r["fingerprint"] == (res1 if r["fingerprint_id"] == res1["fingerprint_id"] else res2)["fingerprint"]
               for r in lines)
    # back to the first settings: its own records are still there and are reused, with the same numbers
    third = run_score(run, "geneval", {**TINY, "tiny_labels": "cow,clock"}, progress=False)
    assert third["scored_now"] == 0
    res3 = _results(run)
    assert res3["fingerprint_id"] == res1["fingerprint_id"] and res3["metrics"] == res1["metrics"]
    assert len(RunStore(run).records("score.geneval")) == second["units"]  # one stream, keys unchanged


def test_offline_default_rescore_after_tiny_is_an_error_not_old_numbers(run):
    from lensbench.runners.score import run_score

    run_score(run, "geneval", dict(TINY), progress=False)
    before = (run / "results" / "geneval.json").read_bytes()
    with pytest.raises(UserError, match="cannot load the Mask2Former detector"):
        run_score(run, "geneval", {}, progress=False)  # HF_HUB_OFFLINE=1 (conftest): the real detector cannot load
    assert (run / "results" / "geneval.json").read_bytes() == before  # still the tiny results, labelled tiny
    p = run_cli_inprocess("score", str(run), "--suite", "geneval", "--no-progress", env={"HF_HUB_OFFLINE": "1"})
    assert_user_error(p, "cannot load the Mask2Former detector")
    assert _results(run)["fingerprint"]["detector"]["backend"] == "tiny"


def test_unknown_and_mistyped_options_are_one_line_errors(run):
    p = run_cli_inprocess("score", str(run), "--suite", "geneval", "-O", "treshold=0.3", "--no-progress")
    assert_user_error(p, "unknown geneval scorer option 'treshold'", "did you mean 'threshold'", "valid options:")
    p = run_cli_inprocess("score", str(run), "--suite", "geneval", "-O", "threshold=high", "--no-progress")
    assert_user_error(p, "threshold='high'", "expected float", "valid options:")
    p = run_cli_inprocess("score", str(run), "--suite", "geneval", "-O", "detector=tiny", "-O", "detector_model=x",
                          "--no-progress")
    assert_user_error(p, "detector_model belongs to the GenEval detector hf-mask2former", "-O detector=hf-mask2former")


def test_coverage_of_a_custom_metadata_run_is_full_but_off_protocol(run):
    from lensbench.runners.score import run_score

    run_score(run, "geneval", dict(TINY), progress=False)
    cov = _results(run)["coverage"]
    assert cov["prompts_scored"] == cov["prompts_total"] > 0 and cov["fraction"] == 1.0 and cov["partial"] is False
    assert cov["categories_present"] == cov["categories_total"] and cov["images_per_prompt"] == 2
    assert cov["official_protocol"] is False and cov["scorer_backend"].startswith("tiny")
    reasons = " | ".join(cov["off_protocol_reasons"])
    assert "detector tiny" in reasons and "not the official geneval metadata" in reasons
    assert "2 image(s) per prompt instead of the protocol's 4" in reasons
    assert cov["language"] == "en" and cov["rewriter"] == "none" and cov["judge"] is None


def test_limit_run_of_the_official_metadata_is_partial(cache, shared_data):
    from lensbench.runners.score import run_score

    official = shared_data / "geneval" / "evaluation_metadata.jsonl"
    run = _generate(cache / "limited", official, limit=6)
    run_score(run, "geneval", {**TINY, "tiny_labels": "dog,cat,car"}, progress=False)
    res = _results(run)
    assert res["suite"]["official_metadata"] is True  # the file is official; the run covers 6 of its prompts
    cov = res["coverage"]
    assert (cov["prompts_scored"], cov["prompts_total"]) == (6, 553) and cov["partial"] is True
    assert cov["fraction"] == pytest.approx(6 / 553) and len(cov["categories_present"]) < len(cov["categories_total"])
    assert cov["official_protocol"] is False


def test_a_swapped_image_is_refused_before_scoring(run):
    """Issue 17 item 5 (score side): an image that is a valid PNG but not the one its record committed."""
    import shutil

    from lensbench.runners.score import run_score
    from lensbench.store.run_store import RunStore

    recs = sorted(RunStore(run).records("generate"), key=lambda r: r["key"])
    a, b = run / recs[0]["image"], run / recs[1]["image"]
    saved = a.read_bytes()
    shutil.copyfile(b, a)
    try:
        with pytest.raises(UserError, match=r"not the ones their records committed .*lensbench verify --fix"):
            run_score(run, "geneval", {**TINY, "tiny_labels": "dog"}, progress=False)
    finally:
        a.write_bytes(saved)
