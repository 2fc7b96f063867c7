"""The bundled text-rendering prompt files validate; LongText-Bench / CVTG-2K loaders map official-shaped files."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources

import pytest

from lensbench.errors import UserError
from lensbench.scorers.ocr.metrics import longtext_tokens
from lensbench.suites import SUITES, load_suite
from lensbench.suites.text import CATEGORIES, DATA_FILES, load_text_items


def test_bundled_files_validate_and_cover_the_brief():
    en = load_text_items(DATA_FILES["en"], language="en")
    zh = load_text_items(DATA_FILES["zh"], language="zh")
    assert len(en) + len(zh) >= 200 and len(en) >= 100 and len(zh) >= 80
    for items, lang in ((en, "en"), (zh, "zh")):
        assert {it.metadata["language"] for it in items} == {lang}
        assert Counter(it.category for it in items).keys() == set(CATEGORIES)
        for it in items:
            assert it.metadata["n_regions"] == len(it.metadata["targets"]) >= 1
            assert all(t in it.prompt for t in it.metadata["targets"])
        multi = [it.metadata["n_regions"] for it in items if it.category == "multi_region"]
        assert min(multi) == 2 and max(multi) == 5 and set(multi) == {2, 3, 4, 5}
        long_ = [len(longtext_tokens(" ".join(it.metadata["targets"]), lang)) for it in items
                 if it.category == "long_passage"]
        assert min(long_) >= 25  # words (en) or characters (zh)
    ids = [it.id for it in en + zh]
    assert len(ids) == len(set(ids))


def test_data_ships_inside_the_package():
    for name in ("text_en.jsonl", "text_zh.jsonl"):
        assert resources.files("lensbench").joinpath("suites", "data", "text", name).is_file()


def test_registered_suites_and_filters():
    for name in ("text", "text-en", "text-zh", "longtext", "cvtg"):
        assert name in SUITES
    both = load_suite("text")
    assert len(both) == len(load_suite("text-en")) + len(load_suite("text-zh"))
    assert both.default_scorer == "text"
    only = load_suite("text", options={"language": "zh", "categories": "sign,poster"})
    assert {it.category for it in only.items()} == {"sign", "poster"} and {it.metadata["language"] for it in only.items()} == {"zh"}
    item = load_suite("text-en").items()[0]
    assert load_suite("text-en").image_relpath(item, 3) == f"images/text-en/{item.id}/0003.png"
    assert load_suite("text").describe()["checksum"] == load_suite("text").describe()["checksum"]


@pytest.mark.parametrize(("name", "opts", "msg"), [
    ("text", {"colour": "red"}, "no option"),
    ("text", {"language": "fr"}, "must be one of"),
    ("text-en", {"language": "zh"}, "is the en set"),
    ("text", {"categories": "memes"}, "unknown categories"),
])
def test_bad_options_are_user_errors(name, opts, msg):
    with pytest.raises(UserError, match=msg):
        load_suite(name, options=opts)


def test_custom_file_errors_name_the_line(tmp_path):
    p = tmp_path / "mine.jsonl"
    good = {"id": "a", "language": "en", "category": "meme", "prompt": 'A sign "HI"', "targets": ["HI"]}
    bad = {"id": "b", "language": "en", "category": "meme", "prompt": "A sign", "targets": ["BYE"]}
    p.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(UserError, match=r"mine.jsonl:2: target\(s\) \['BYE'\]"):
        load_suite("text", options={"path": str(p)})
    p.write_text(json.dumps(good) + "\n")
    suite = load_suite("text", options={"path": str(p)})
    assert [it.category for it in suite.items()] == ["meme"]  # own files may use own categories
    with pytest.raises(UserError, match="does not exist"):
        load_suite("text", options={"path": str(tmp_path / "nope.jsonl")})


# -- LongText-Bench ------------------------------------------------------------------------------------
def _write_longtext(folder, zh=True):
    folder.mkdir(parents=True, exist_ok=True)
    en = [{"prompt_id": 0, "prompt": 'A poster with "Hello World" and "Bye"', "text": ["Hello World", "Bye"],
           "category": "poster"},
          {"prompt_id": 7, "prompt": "A note", "text": "Just one string"}]
    (folder / "text_prompts.jsonl").write_text("\n".join(json.dumps(x) for x in en) + "\n")
    if zh:
        rows = [{"prompt_id": 0, "prompt": "一张海报", "text": ["你好世界"]}]
        (folder / "text_prompts_zh.jsonl").write_text(json.dumps(rows[0], ensure_ascii=False) + "\n")


def test_longtext_loader_maps_official_fields(tmp_path):
    _write_longtext(tmp_path / "lt")
    suite = load_suite("longtext", options={"path": str(tmp_path / "lt")})
    assert suite.default_images_per_prompt == 4
    items = {it.id: it for it in suite.items()}
    assert set(items) == {"en-0000", "en-0007", "zh-0000"}
    first = items["en-0000"]
    assert first.metadata["targets"] == ["Hello World", "Bye"] and first.category == "poster"
    assert first.metadata["official"] == {"prompt_id": 0, "category": "poster"}
    assert items["en-0007"].metadata["targets"] == ["Just one string"] and items["en-0007"].category == "longtext"
    assert items["zh-0000"].metadata["language"] == "zh"
    assert suite.image_relpath(first, 0) == "images/longtext/en/0000_1.png"
    assert suite.image_relpath(items["zh-0000"], 3) == "images/longtext/zh/0000_4.png"
    en_only = load_suite("longtext", options={"path": str(tmp_path / "lt" / "text_prompts.jsonl")})
    assert {it.metadata["language"] for it in en_only.items()} == {"en"}


def test_longtext_missing_files_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="huggingface.co/datasets/X-Omni/LongText-Bench"):
        load_suite("longtext")
    _write_longtext(tmp_path / "lt", zh=False)
    with pytest.raises(UserError, match="text_prompts_zh.jsonl"):
        load_suite("longtext", options={"path": str(tmp_path / "lt")})
    assert len(load_suite("longtext", options={"path": str(tmp_path / "lt"), "language": "en"})) == 2


def test_longtext_discovers_the_official_flat_layout(tmp_path):
    _write_longtext(tmp_path / "lt")
    suite = load_suite("longtext", options={"path": str(tmp_path / "lt"), "language": "en"})
    out = tmp_path / "samples"
    out.mkdir()
    for name in ("0000_1.png", "0000_2.png", "0007_1.png"):
        (out / name).write_bytes(b"png")
    recs = suite.discover_images(out)
    assert sorted((r["item_id"], r["index"], r["image"]) for r in recs) == [
        ("en-0000", 0, "0000_1.png"), ("en-0000", 1, "0000_2.png"), ("en-0007", 0, "0007_1.png")]


# -- CVTG-2K ---------------------------------------------------------------------------------------------
def _write_cvtg(root):
    for subset, style in (("CVTG", ""), ("CVTG-style", " in bold red letters")):
        (root / subset).mkdir(parents=True)
        for area in (2, 3):
            quoted = " and ".join(f"'Word{k} {area}'" for k in range(area))
            rows = [{"index": i, "prompt": f"A street{style} with {quoted}", "carrier_list": ["sign"] * area,
                     "sentence_list": ["s"] * area} for i in range(2)]
            (root / subset / f"{area}.json").write_text(json.dumps({"data_list": rows}))
            (root / subset / f"{area}_combined.json").write_text(json.dumps({"data_list": []}))


def test_cvtg_loader_extracts_quoted_targets(tmp_path):
    _write_cvtg(tmp_path / "CVTG-2K")
    suite = load_suite("cvtg", options={"path": str(tmp_path), "areas": "2,3"})
    assert len(suite) == 8 and suite.default_images_per_prompt == 1
    item = next(it for it in suite.items() if it.id == "cvtg-style-3-1")
    assert item.metadata["targets"] == ["Word0 3", "Word1 3", "Word2 3"] and item.metadata["n_regions"] == 3
    assert item.metadata["official"]["subset"] == "CVTG-Style" and item.category == "cvtg-style"
    assert suite.image_relpath(item, 0) == "images/cvtg/CVTG-Style/3/1.png"
    only = load_suite("cvtg", options={"path": str(tmp_path / "CVTG-2K"), "subsets": "CVTG", "areas": "2"})
    assert [it.id for it in only.items()] == ["cvtg-2-0", "cvtg-2-1"]


def test_cvtg_errors_and_discovery(tmp_path):
    with pytest.raises(UserError, match="dnkdnk/CVTG-2K"):
        load_suite("cvtg")
    _write_cvtg(tmp_path)
    with pytest.raises(UserError, match="4.json is missing"):
        load_suite("cvtg", options={"path": str(tmp_path)})
    with pytest.raises(UserError, match="areas"):
        load_suite("cvtg", options={"path": str(tmp_path), "areas": "1,2"})
    suite = load_suite("cvtg", options={"path": str(tmp_path), "areas": "2"})
    res = tmp_path / "results"
    (res / "CVTG" / "2").mkdir(parents=True)
    (res / "CVTG" / "2" / "1.png").write_bytes(b"png")
    (res / "CVTG-style" / "2").mkdir(parents=True)
    (res / "CVTG-style" / "2" / "0.png").write_bytes(b"png")
    found = sorted((r["item_id"], r["image"]) for r in suite.discover_images(res))
    assert found == [("cvtg-2-1", "CVTG/2/1.png"), ("cvtg-style-2-0", "CVTG-style/2/0.png")]
