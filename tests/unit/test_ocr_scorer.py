"""The "text" scorer's plumbing with a fake OCR backend: batching, the per-image cache, discovery, errors.

(The real rapidocr model is exercised in tests/integration/test_ocr_real.py.)
"""

from __future__ import annotations

import json
import sys
import types

import numpy as np
import pytest
from PIL import Image

from lensbench.errors import UnknownNameError, UserError
from lensbench.scorers import SCORERS
from lensbench.scorers.ocr import aggregate
from lensbench.scorers.ocr.backends import OcrBackend, OcrLine, PaddleOcrBackend, make_backend
from lensbench.scorers.ocr.scorer import TextScorer
from lensbench.store.atomic import write_image_atomic
from lensbench.suites import load_suite

# colour of a solid test image -> what the fake OCR "reads" there
READS = {(255, 0, 0): ["Hello World"], (0, 255, 0): ["Hello Wrold", "EXTRA"], (0, 0, 255): []}


class FakeOcr(OcrBackend):
    name = "fake"
    OPTIONS = ("version",)

    def __init__(self, options=None):
        super().__init__(options)
        self.calls: list[int] = []

    def settings(self):
        return {"backend": "fake", "version": self.options.get("version", 1)}

    def read_batch(self, images):
        self.calls.append(len(images))
        return [[OcrLine(t, 0.9) for t in READS[tuple(int(v) for v in im[0, 0])]] for im in images]


def _scorer(fake_version=1, **opts):
    scorer = TextScorer({"n_boot": 50, **opts})
    scorer.backend = FakeOcr({"version": fake_version})
    return scorer


@pytest.fixture()
def run(tmp_path):
    """A run folder with three images of one custom text suite and their generation records."""
    suite_file = tmp_path / "s.jsonl"
    rows = [{"id": f"p{i}", "language": "en", "category": c, "prompt": 'A sign "Hello World"',
             "targets": ["Hello World"]} for i, c in enumerate(["sign", "sign", "poster"])]
    suite_file.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    suite = load_suite("text", options={"path": str(suite_file)})
    records = []
    for i, (item, colour) in enumerate(zip(suite.items(), READS)):
        rel = suite.image_relpath(item, 0)
        sha, _ = write_image_atomic(tmp_path / rel, Image.new("RGB", (8, 8), colour))
        records.append({"key": f"k{i}", "item_id": item.id, "index": 0, "image": rel, "sha256": sha, "status": "ok"})
    return tmp_path, suite, records


def test_scores_batch_and_summary(run):
    run_dir, suite, records = run
    scorer = _scorer()
    units = scorer.units(suite, records)
    assert [u.info["sha256"] for u in units] == [r["sha256"] for r in records]
    out = scorer.score_batch(run_dir, units)
    assert scorer.backend.calls == [3]  # one batched OCR call for the three images
    by_item = {r["item_id"]: r for r in out}
    assert by_item["p0"]["word_accuracy"] == 1.0 and by_item["p0"]["ocr_lines"] == [["Hello World", 0.9]]
    assert by_item["p1"]["word_accuracy"] == 0.5 and by_item["p1"]["text_precision"] == pytest.approx(1 / 3)
    assert by_item["p2"]["word_accuracy"] == 0.0 and by_item["p2"]["ned"] == pytest.approx(0.0, abs=1e-5)
    assert {r["category"] for r in out} == {"sign", "poster"} and all(r["language"] == "en" for r in out)
    rows = scorer.summarize(out, suite)
    assert aggregate.find(rows, "word_accuracy").value == pytest.approx(3 / 6)
    assert aggregate.find(rows, "word_accuracy", "category:sign").value == pytest.approx(3 / 4)
    assert aggregate.find(rows, "text_precision").value == pytest.approx(3 / 5)


def test_cache_hit_reads_no_pixels(run):
    run_dir, suite, records = run
    first = _scorer()
    out1 = first.score_batch(run_dir, first.units(suite, records))
    assert all(not r["ocr_cached"] for r in out1)
    for r in records:  # the images are gone: a cache hit must not even open the file
        (run_dir / r["image"]).unlink()
    second = _scorer(join_words=True)  # other metric options, same OCR settings
    out2 = second.score_batch(run_dir, second.units(suite, records))
    assert second.backend.calls == [] and second.ocr_calls == 0
    assert all(r["ocr_cached"] for r in out2)
    assert [r["ocr_lines"] for r in out2] == [r["ocr_lines"] for r in out1]
    entry = next((run_dir / "cache" / "ocr").rglob(f"{records[0]['sha256']}.json"))
    assert json.loads(entry.read_text())["lines"][0][0] == "Hello World"
    assert json.loads((entry.parent.parent / "settings.json").read_text()) == {"backend": "fake", "version": 1}


def test_other_ocr_settings_miss_the_cache_and_cache_can_be_off(run, tmp_path):
    run_dir, suite, records = run
    a = _scorer()
    a.score_batch(run_dir, a.units(suite, records))
    b = _scorer(fake_version=2)
    b.score_batch(run_dir, b.units(suite, records))
    assert b.backend.calls == [3]
    c = _scorer(cache=False)
    c.score_batch(run_dir, c.units(suite, records))
    assert c.backend.calls == [3]
    d = _scorer(cache_dir=str(tmp_path / "shared"))
    d.score_batch(run_dir, d.units(suite, records))
    assert d.backend.calls == [3] and any((tmp_path / "shared").rglob("*.json"))


def test_missing_sha_is_hashed_from_the_file(run):
    run_dir, suite, records = run
    a = _scorer()
    a.score_batch(run_dir, a.units(suite, records))
    b = _scorer()
    b.score_batch(run_dir, b.units(suite, [{k: v for k, v in r.items() if k != "sha256"} for r in records]))
    assert b.backend.calls == []  # same bytes -> same sha -> cache hit


def test_missing_image_is_a_user_error(run):
    run_dir, suite, records = run
    (run_dir / records[0]["image"]).unlink()
    s = _scorer(cache=False)
    with pytest.raises(UserError, match="missing"):
        s.score_batch(run_dir, s.units(suite, [{k: v for k, v in records[0].items() if k != "sha256"}]))


def test_units_need_target_texts(run):
    _, _, records = run
    with pytest.raises(UserError, match="no target texts"):
        _scorer().units(load_suite("smoke"), records)


def test_discover_official_cvtg_folder(tmp_path):
    data = tmp_path / "data" / "CVTG"
    data.mkdir(parents=True)
    (data / "2.json").write_text(json.dumps({"data_list": [{"index": 0, "prompt": "A sign 'Hello World' and 'Hi'"}]}))
    images = tmp_path / "images" / "CVTG" / "2"
    images.mkdir(parents=True)
    Image.new("RGB", (8, 8), (255, 0, 0)).save(images / "0.png")
    scorer = _scorer(suite="cvtg", suite_path=str(tmp_path / "data"), suite_subsets="CVTG", suite_areas="2")
    suite, recs = scorer.discover(tmp_path / "images")
    assert suite.name == "cvtg" and [(r["item_id"], r["image"]) for r in recs] == [("cvtg-2-0", "CVTG/2/0.png")]
    out = scorer.score_batch(tmp_path / "images", scorer.units(suite, recs))
    assert out[0]["word_correct"] == 2 and out[0]["word_total"] == 3  # "hello", "world" read; "hi" not
    with pytest.raises(UserError, match="no images"):
        scorer.discover(tmp_path / "data")


def test_scorer_registry_and_options():
    for name in ("text", "ocr", "longtext", "cvtg", "text-en"):
        assert name in SCORERS
    assert SCORERS.get("ocr") is SCORERS.get("text")
    s = SCORERS.get("cvtg")({"device": "cpu", "min_score": "0.6", "batch_mode": "per_image"})
    assert s.name == "cvtg" and s.backend.min_score == 0.6 and s.backend.batch_mode == "per_image"
    assert s.settings()["join_words"] is False and s.settings()["ned_eps"] == 1e-5
    with pytest.raises(UserError, match="no option"):
        TextScorer({"colour": "red"})
    with pytest.raises(UnknownNameError):
        TextScorer({"backend": "tesseract"})
    with pytest.raises(UserError, match="cpu or cuda"):
        TextScorer({"device": "tpu"})
    with pytest.raises(UserError, match="length_edges_en"):
        TextScorer({"length_edges_en": "9,3"})
    with pytest.raises(UserError, match="no option"):
        make_backend("easyocr", {"batch_mode": "cross_image"})


def test_optional_backends_say_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "paddleocr", None)  # import fails as if not installed
    with pytest.raises(UserError, match="pip install paddlepaddle paddleocr"):
        make_backend("paddleocr").load()
    monkeypatch.setitem(sys.modules, "easyocr", None)
    with pytest.raises(UserError, match="pip install easyocr"):
        make_backend("easyocr").load()


def test_paddleocr_result_parsing_with_a_stub_module(monkeypatch):
    """PaddleOCR 2.x returns [[ [box, (text, score)], ... ]] per image; lines below min_score are dropped."""
    class Engine:
        def __init__(self, **kw):
            self.kw = kw

        def ocr(self, img, cls=True):
            box = [[0, 0], [10, 0], [10, 5], [0, 5]]
            return [[[box, ("HELLO", 0.99)], [box, ("noise", 0.2)]]]

    monkeypatch.setitem(sys.modules, "paddleocr", types.SimpleNamespace(PaddleOCR=Engine))
    backend = PaddleOcrBackend({"min_score": 0.5})
    lines = backend.read_batch([np.zeros((5, 10, 3), np.uint8)])
    assert [(ln.text, ln.score) for ln in lines[0]] == [("HELLO", 0.99)]
    assert backend._engine.kw == {"use_angle_cls": True, "lang": "en", "use_gpu": False, "show_log": False}
