"""DPG-Bench VQA plumbing with a tiny random BLIP built locally and loaded through the blip-vqa code path."""

from __future__ import annotations

import pytest
from PIL import Image

pytest.importorskip("transformers")
pytestmark = pytest.mark.slow  # loads transformers and builds tiny models (several seconds on a shared CPU)

from lensbench.errors import UnknownNameError, UserError  # noqa: E402
from lensbench.scorers.dpg.backends import BlipVqaBackend, VlmJudgeBackend, make_backend  # noqa: E402
from lensbench.scorers.dpg.scorer import DpgScorer  # noqa: E402
from lensbench.scorers.dpg.tiny_blip import build_tiny_blip_vqa  # noqa: E402
from tests.unit.test_dpg_scorer import make_run, metric  # noqa: E402

IMAGES = [Image.new("RGB", (40, 40), (i * 50, 10, 200 - i * 40)) for i in range(5)]
QUESTIONS = ["Is there a cat?", "Is the cat black?", "Are there three trees?", "Is this a photo?", "What?"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("lensbench-cache")


@pytest.fixture(autouse=True)
def _cache_env(cache, monkeypatch):
    monkeypatch.setenv("LENSBENCH_CACHE", str(cache))


@pytest.mark.parametrize("bias", ["yes", "no"])
def test_biased_tiny_blip_answers_through_blip_vqa_path(cache, bias):
    path = build_tiny_blip_vqa(cache / f"m-{bias}", answer_bias=bias)
    assert (path / "config.json").is_file() and (path / "processor_config.json").is_file()
    backend = BlipVqaBackend({"model": str(path), "device": "cpu", "max_new_tokens": 1})
    backend.load()
    assert backend.answer(IMAGES, QUESTIONS) == [bias] * 5


def test_unbiased_tiny_blip_is_deterministic_and_batch_independent():
    backend = make_backend("tiny", {"seed": 3, "max_new_tokens": 3})
    backend.load()
    full = backend.answer(IMAGES, QUESTIONS)
    assert len(full) == 5 and all(isinstance(a, str) for a in full)
    assert backend.answer(IMAGES[:2], QUESTIONS[:2]) + backend.answer(IMAGES[2:], QUESTIONS[2:]) == full
    assert backend.describe()["backend"] == "tiny" and backend.describe()["official"] is False


@pytest.mark.parametrize("bias, expected", [("yes", 100.0), ("no", 0.0)])
def test_scorer_end_to_end_with_tiny_blip(tmp_path, bias, expected):
    suite, run, records = make_run(tmp_path)
    scorer = DpgScorer({"backend": "tiny", "answer_bias": bias, "skip_first_row": False, "vqa_batch_size": 8})
    units = scorer.units(suite, records)
    scorer.load()
    recs = scorer.score_batch(run, units)
    assert all(q["answers"] == [bias] * 4 for r in recs for q in r["questions"])
    metrics = scorer.summarize(recs, suite)
    assert metric(metrics, "dpg").value == expected
    s = scorer.settings()
    assert s["vqa"]["backend"] == "tiny" and s["vqa"]["model"].endswith(f"dpg-tiny-blip-vqa-s0-{bias}")
    assert any("instead of the official mPLUG-large" in d for d in s["deviations"])


def test_backend_errors(tmp_path):
    with pytest.raises(UnknownNameError):
        make_backend("mplugg")
    with pytest.raises(UserError, match="could not load BLIP VQA model"):
        BlipVqaBackend({"model": str(tmp_path / "missing"), "device": "cpu"}).load()
    with pytest.raises(UserError, match="could not load VLM judge"):
        VlmJudgeBackend({"model": str(tmp_path / "missing"), "device": "cpu"}).load()
    with pytest.raises(UserError, match="unknown dtype"):
        BlipVqaBackend({"model": str(tmp_path / "missing"), "device": "cpu", "dtype": "int3"}).load()


def test_vlm_prompt():
    msgs = VlmJudgeBackend({}).build_prompt("Is there a cat?")
    assert msgs == [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Is there a cat? Answer with yes or no."}]}]
    custom = VlmJudgeBackend({"prompt": "Q: {question} (yes/no)"}).build_prompt("Red?")
    assert custom[0]["content"][1]["text"] == "Q: Red? (yes/no)"


def test_vlm_judge_path_with_tiny_llava(tmp_path):
    from tests.dpg_support import build_tiny_llava

    path = build_tiny_llava(tmp_path / "llava")
    backend = VlmJudgeBackend({"model": str(path), "device": "cpu", "max_new_tokens": 4})
    backend.load()
    answers = backend.answer(IMAGES[:3], ["Is there a cat?", "Is the black dog there?", "Is there a cat?"])
    assert answers == ["Yes ."] * 3  # a sentence (word-level decoder adds the space): only normalized accepts it
    assert backend.answer(IMAGES[:1], ["Is the black dog there?"]) == ["Yes ."]  # left padding: batch-independent
    from lensbench.scorers.dpg.official import answer_score

    assert [answer_score(a, "exact") for a in answers] == [0.0] * 3
    assert [answer_score(a, "normalized") for a in answers] == [1.0] * 3
