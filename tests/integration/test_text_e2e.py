"""Text-rendering suite end to end: tiny generator -> `lensbench score --suite text` (real rapidocr) -> results;
rescoring with another scorer from the OCR cache; an official LongText-Bench folder made by another tool."""

from __future__ import annotations

import json

import pytest

from lensbench.scorers.ocr.backends import RapidOcrBackend
from tests.helpers import run_cli

pytest.importorskip("rapidocr_onnxruntime")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from lensbench.config import RunConfig
    from lensbench.runners.generate import run_generate

    out = tmp_path_factory.mktemp("text_e2e") / "run"
    cfg = RunConfig(model="tiny", suite="text-en", suite_options={"categories": "sign"}, out=str(out), limit=2,
                    images_per_prompt=1, height=64, width=64, steps=2, progress=False)
    assert run_generate(cfg)["generated"] == 2
    return out


def test_cli_score_suite_text_writes_results(run):
    p = run_cli("score", str(run), "--suite", "text", "-O", "n_boot=50", "--no-progress")
    assert p.returncode == 0, p.stderr
    res = json.loads((run / "results" / "text.json").read_text())
    assert res["scorer"] == "text" and res["n_scored"] == 2 and res["suite"]["name"] == "text-en"
    assert res["settings"]["ocr"]["backend"] == "rapidocr" and res["settings"]["ocr"]["models"]["Rec"]
    headline = {m["metric"]: m for m in res["metrics"] if m["category"] is None}
    assert {"word_accuracy", "ned", "text_score"} <= set(headline)
    assert {m["category"] for m in res["metrics"]} >= {None, "language:en", "category:sign", "regions:1"}
    assert all(0.0 <= m["value"] <= 1.0 for m in res["metrics"] if m["value"] is not None)
    recs = [json.loads(x) for f in (run / "records").glob("score.text.*.jsonl") for x in f.read_text().splitlines()]
    assert len(recs) == 2 and all("ocr_lines" in r and r["status"] == "ok" for r in recs)
    again = run_cli("score", str(run), "--suite", "text", "--no-progress")
    assert again.returncode == 0 and "scored 0 new of 2" in again.stdout


def test_another_scorer_reuses_the_ocr_cache(run, monkeypatch):
    from lensbench.runners.score import run_score

    if not (run / "results" / "text.json").exists():  # fills the OCR cache when this test runs alone
        assert run_cli("score", str(run), "--suite", "text", "--no-progress").returncode == 0

    def boom(self, images):
        raise AssertionError("the OCR model must not run: every image is in the cache")

    monkeypatch.setattr(RapidOcrBackend, "read_batch", boom)
    out = run_score(run, "cvtg", {"n_boot": 20}, progress=False)
    assert out["scored_now"] == 2 and (run / "results" / "cvtg.json").exists()


def test_official_longtext_folder_from_another_tool(tmp_path):
    """A flat folder in X-Omni's layout ({prompt_id}_{repeat}.png) scored with the official prompt file."""
    from lensbench.runners.score import run_score
    from tests.integration.test_ocr_real import render

    (tmp_path / "lt").mkdir()
    rows = [{"prompt_id": 3, "prompt": 'A sign that reads "GRAND OPENING"', "text": ["GRAND OPENING"]}]
    (tmp_path / "lt" / "text_prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = tmp_path / "samples"
    samples.mkdir()
    render(["GRAND OPENING"]).save(samples / "0003_1.png")
    render(["GRAND OPENNG"]).save(samples / "0003_2.png")
    out = run_score(samples, "longtext", {"suite_path": str(tmp_path / "lt"), "suite_language": "en", "n_boot": 20},
                    progress=False)
    metrics = {(m["metric"], m["category"]): m["value"] for m in out["results"]["metrics"]}
    assert out["units"] == 2 and out["results"]["model"] == {"name": "external"}
    assert metrics[("text_score", None)] == pytest.approx(3 / 4)  # 2 + 1 matched of 2 + 2 words
