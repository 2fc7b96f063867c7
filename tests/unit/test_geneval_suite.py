"""GenEval suite: metadata loader over all 553 official records, layout, language hook, download/cache."""

from __future__ import annotations

import hashlib
import json
import urllib.error
from collections import Counter

import pytest

from lensbench.errors import UserError
from lensbench.scorers.geneval.decision import COLORS, decide
from lensbench.suites.geneval_objects import GENEVAL_CLASSES
from lensbench.suites import SUITES, load_suite
from lensbench.suites import geneval as gs


@pytest.fixture(scope="module")
def meta_path(shared_data):
    return shared_data / "geneval" / "evaluation_metadata.jsonl"


@pytest.fixture(scope="module")
def suite(meta_path):
    return load_suite("geneval", None, {"metadata": str(meta_path)})


def test_pinned_sha256_is_the_shared_official_file(meta_path):
    assert hashlib.sha256(meta_path.read_bytes()).hexdigest() == gs.METADATA_SHA256
    assert gs.GENEVAL_COMMIT.startswith("af4902f")


def test_loader_reads_all_553_records_with_official_tag_counts(suite, meta_path):
    assert SUITES.canonical("geneval") == "geneval"
    items = suite.items()
    assert len(items) == gs.N_PROMPTS == 553
    assert [it.id for it in items] == [f"{i:05d}" for i in range(553)]
    assert Counter(it.category for it in items) == {"single_object": 80, "two_object": 99, "counting": 80,
                                                   "colors": 94, "position": 100, "color_attr": 100}
    assert list(dict.fromkeys(it.category for it in items)) == list(gs.TAGS)
    lines = meta_path.read_text().splitlines()
    assert all(dict(it.metadata) == json.loads(line) for it, line in zip(items, lines))
    # prompts are the records' prompts (English), the same as generation_prompts.txt
    prompts = (meta_path.parent / "generation_prompts.txt").read_text().splitlines()
    assert [it.prompt for it in items] == prompts
    d = suite.describe()
    assert d["official_metadata"] is True and d["n_items"] == 553 and d["options"]["language"] == "en"
    assert suite.default_images_per_prompt == 4 and suite.default_scorer == "geneval"


def test_records_use_only_geneval_classes_colours_and_protocol_shapes(suite, shared_data):
    assert list(GENEVAL_CLASSES) == (shared_data / "geneval" / "object_names.txt").read_text().splitlines()
    for it in suite.items():
        m = it.metadata
        for c in m["include"] + m.get("exclude", []):
            assert c["class"] in GENEVAL_CLASSES
            assert c.get("color", "red") in COLORS
        if m["tag"] == "counting":
            assert m["exclude"] == [{"class": m["include"][0]["class"], "count": m["include"][0]["count"] + 1}]
        else:
            assert "exclude" not in m
        if m["tag"] == "position":
            assert m["include"][1]["position"][1] == 0


def _perfect_detections(meta):
    """Detections that satisfy a record: target at (200, 200), positioned objects 100 px away, 0.95 scores."""
    offsets = {"left of": (-100, 0), "right of": (100, 0), "above": (0, -100), "below": (0, 100)}
    dets, colours = {}, {}
    for c in meta["include"]:
        dx, dy = offsets[c["position"][0]] if "position" in c else (0, 0)
        dets[c["class"]] = [[190 + dx + 3 * i, 190 + dy, 210 + dx + 3 * i, 210 + dy, 0.95] for i in range(c["count"])]
        if "color" in c:
            colours[c["class"]] = c["color"]
    return dets, (lambda cls, objs: [colours[cls]] * len(objs))


def test_every_official_record_passes_with_perfect_detections_and_fails_with_none(suite):
    for it in suite.items():
        dets, clf = _perfect_detections(it.metadata)
        assert decide(it.metadata, dets, clf) == (True, ""), it.id
        correct, reason = decide(it.metadata, {}, clf)
        assert not correct and reason.startswith(f"expected {it.metadata['include'][0]['class']}>=")
        if it.metadata["tag"] == "counting":
            cls = it.metadata["include"][0]["class"]
            extra = {cls: dets[cls] + [[0, 0, 5, 5, 0.95]]}
            assert decide(it.metadata, extra, clf)[0] is False


def test_official_layout_paths_and_metadata_file(suite, tmp_path):
    item = suite.items()[7]
    assert suite.image_relpath(item, 3) == "geneval/00007/samples/0003.png"
    suite.prepare_item(tmp_path, item)
    path = tmp_path / "geneval" / "00007" / "metadata.jsonl"
    with open(path) as fh:
        assert json.load(fh) == dict(item.metadata)  # the official scorer reads ONE object with json.load
    mtime = path.stat().st_mtime_ns
    suite.prepare_item(tmp_path, item)  # idempotent: not rewritten
    assert path.stat().st_mtime_ns == mtime
    assert not list(path.parent.glob(".tmp-*"))


def test_language_hook_accepts_en_and_rejects_others_clearly(meta_path):
    with pytest.raises(UserError, match="language 'tlh'.*-S language=en"):
        gs.geneval_suite(None, {"metadata": str(meta_path), "language": "tlh"})
    gs.PROMPT_RENDERERS["xx"] = lambda rec: rec["prompt"].upper()
    try:
        s = gs.geneval_suite(None, {"metadata": str(meta_path), "language": "xx"})
        assert s.items()[0].prompt == "A PHOTO OF A BENCH" and s.items()[0].metadata["prompt"] == "a photo of a bench"
    finally:
        del gs.PROMPT_RENDERERS["xx"]


def test_bad_inputs_are_user_errors(tmp_path, meta_path):
    with pytest.raises(UserError, match="unknown geneval suite option"):
        gs.geneval_suite(None, {"metadata": str(meta_path), "langauge": "en"})
    with pytest.raises(UserError, match="does not exist"):
        gs.geneval_suite(None, {"metadata": str(tmp_path / "nope.jsonl")})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "x"}\n{oops\n')
    with pytest.raises(UserError, match=r"bad.jsonl:2: not valid JSON"):
        gs.load_metadata(bad)
    bad.write_text('{"tag": "position", "prompt": "x", "include": [{"class": "dog", "count": 1, "position": ["left of", 0]}]}\n')
    with pytest.raises(UserError, match="invalid position"):
        gs.load_metadata(bad)


class _Resp:
    def __init__(self, data):
        self.data = data

    def read(self):
        return self.data

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_download_goes_to_the_cache_is_checked_and_reused(monkeypatch, tmp_path, meta_path):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE")  # the network is faked below
    calls = []

    def fake_urlopen(url, timeout):
        calls.append(url)
        return _Resp(meta_path.read_bytes())

    monkeypatch.setattr("urllib.request.urlopen", fake_urlopen)
    s = gs.geneval_suite(None, {})
    assert len(s) == 553 and calls == [gs.METADATA_URL] and gs.GENEVAL_COMMIT in calls[0]
    assert (tmp_path / "data" / "geneval" / "evaluation_metadata.jsonl").read_bytes() == meta_path.read_bytes()
    gs.geneval_suite(None, {})
    assert len(calls) == 1  # cached copy used


def test_offline_or_tampered_download_tells_the_user_to_pass_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("LENSBENCH_CACHE", str(tmp_path))
    with pytest.raises(UserError, match=r"offline mode is on .* `lensbench fetch geneval`"):  # HF_HUB_OFFLINE=1
        gs.geneval_suite(None, {})
    monkeypatch.delenv("HF_HUB_OFFLINE")

    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("urllib.request.urlopen", offline)
    with pytest.raises(UserError, match=r"could not download .* -S metadata=PATH"):
        gs.geneval_suite(None, {})
    monkeypatch.setattr("urllib.request.urlopen", lambda url, timeout: _Resp(b"tampered"))
    with pytest.raises(UserError, match="unexpected sha256"):
        gs.geneval_suite(None, {})
    assert not (tmp_path / "data" / "geneval" / "evaluation_metadata.jsonl").exists()
