"""Multilingual GenEval: every record renders in every language, only allow-listed English remains, grammar holds,
and the metadata the scorer judges stays the official record."""

from __future__ import annotations

import copy
import json
import re

import pytest

from lensbench.errors import UserError
from lensbench.suites.geneval_objects import GENEVAL_CLASSES
from lensbench.suites import load_suite
from lensbench.suites.geneval_i18n import COLORS, LANGUAGES, RELATIONS, load_language, noun_phrase, render

LATIN_WORD = re.compile(r"[a-zà-öø-ÿœæ]+(?:-[a-zà-öø-ÿœæ]+)*")


@pytest.fixture(scope="module")
def metadata_path(shared_data):
    return shared_data / "geneval" / "evaluation_metadata.jsonl"


@pytest.fixture(scope="module")
def records(metadata_path):
    return [json.loads(line) for line in metadata_path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def english_vocab(records):
    return {w for r in records for w in LATIN_WORD.findall(r["prompt"].lower())}


def test_english_table_reproduces_every_official_prompt(records):
    assert len(records) == 553
    mismatches = [(r["prompt"], render(r, "en")) for r in records if render(r, "en") != r["prompt"]]
    assert mismatches == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_record_renders_and_is_distinct(records, lang):
    rendered = [render(r, lang) for r in records]
    assert all(isinstance(p, str) and p.strip() == p and "  " not in p for p in rendered)
    assert not any("{" in p or "}" in p for p in rendered)
    # the official prompts are unique; so must the translations be (no two records collapse into one prompt)
    assert len(set(rendered)) == len({r["prompt"] for r in records})


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_english_left_except_the_allow_list(records, english_vocab, lang):
    allow = set(load_language(lang)["english_kept"])
    leftovers, used = set(), set()
    for r in records:
        for word in LATIN_WORD.findall(render(r, lang).lower()):
            parts = word.split("-")
            english = word in english_vocab or all(p in english_vocab for p in parts)
            if english:
                (used if word in allow else leftovers).add(word)
    assert leftovers == set(), f"English words in {lang} prompts: {sorted(leftovers)}"
    assert used == allow, f"allow-list entries never used in {lang}: {sorted(allow - used)}"


@pytest.mark.parametrize("lang", ("zh", "ja"))
def test_cjk_prompts_have_no_latin_letters(records, lang):
    assert not any(re.search(r"[A-Za-z]", render(r, lang)) for r in records)


@pytest.mark.parametrize("lang", (*LANGUAGES, "en"))
def test_tables_cover_all_classes_colours_relations(lang):
    data = load_language(lang)
    assert set(data["objects"]) == set(GENEVAL_CLASSES) and len(GENEVAL_CLASSES) == 80
    assert set(data["colors"]) == set(COLORS) and set(data["relations"]) == set(RELATIONS)
    assert {"2", "3", "4"} <= set(data["numbers"])


def test_rendering_does_not_touch_the_record(records):
    before = copy.deepcopy(records)
    for lang in LANGUAGES:
        for r in records:
            render(r, lang)
    assert records == before


def _rec(tag, include, exclude=None):
    r = {"tag": tag, "include": include, "prompt": "x"}
    if exclude:
        r["exclude"] = exclude
    return r


def test_grammar_french_and_spanish_agreement_and_elision():
    red_cup = _rec("colors", [{"class": "cup", "count": 1, "color": "green"}])
    assert render(red_cup, "fr") == "une photo d'une tasse verte"
    assert render(red_cup, "es") == "una foto de una taza verde"
    skis = _rec("colors", [{"class": "skis", "count": 1, "color": "white"}])
    assert render(skis, "fr") == "une photo d'une paire de skis blancs"  # adjective agrees with skis (m. pl.)
    assert render(skis, "es") == "una foto de un par de esquís blancos"
    scissors = _rec("colors", [{"class": "scissors", "count": 1, "color": "white"}])
    assert render(scissors, "es") == "una foto de un par de tijeras blancas"  # tijeras (f. pl.)
    pos = _rec("position", [{"class": "cow", "count": 1}, {"class": "dog", "count": 1, "position": ["left of", 0]}])
    assert render(pos, "fr") == "une photo d'un chien à gauche d'une vache"
    assert render(pos, "es") == "una foto de un perro a la izquierda de una vaca"
    assert render(pos, "en") == "a photo of a dog left of a cow"


def test_grammar_measure_words_and_counters():
    two_cars = _rec("counting", [{"class": "car", "count": 2}], [{"class": "car", "count": 3}])
    assert render(two_cars, "zh") == "两辆汽车的照片"  # 两 before a measure word
    assert render(two_cars, "ja") == "二台の車の写真"
    assert render(two_cars, "fr") == "une photo de deux voitures"
    pair = _rec("color_attr", [{"class": "cat", "count": 1, "color": "black"}, {"class": "book", "count": 1, "color": "red"}])
    assert render(pair, "zh") == "一只黑色的猫和一本红色的书的照片"
    assert render(pair, "ja") == "一匹の黒い猫と一冊の赤い本の写真"
    above = _rec("position", [{"class": "bench", "count": 1}, {"class": "bird", "count": 1, "position": ["above", 0]}])
    assert render(above, "zh") == "一只鸟在一张长椅上方的照片"
    assert render(above, "ja") == "一脚のベンチの上に一羽の鳥が写っている写真"


def test_bad_records_raise_user_errors():
    data = load_language("fr")
    with pytest.raises(UserError, match="not one of GenEval's 80 classes"):
        noun_phrase(data, {"class": "unicorn", "count": 1})
    with pytest.raises(UserError, match="no fr number word"):
        noun_phrase(data, {"class": "cat", "count": 99})
    with pytest.raises(UserError, match="unknown tag"):
        render({"tag": "bogus", "include": [], "prompt": "x"}, "fr")
    with pytest.raises(UserError, match="expects 2 include"):
        render(_rec("two_object", [{"class": "cat", "count": 1}]), "zh")
    with pytest.raises(UserError, match="no GenEval translation"):
        load_language("de")


def test_suite_language_option_changes_prompts_not_metadata(metadata_path, records):
    en = load_suite("geneval", None, {"metadata": str(metadata_path)})
    zh = load_suite("geneval", None, {"metadata": str(metadata_path), "language": "zh"})
    assert [it.id for it in en.items()] == [it.id for it in zh.items()]
    assert [dict(it.metadata) for it in zh.items()] == records  # the scorer judges the official record
    assert [it.prompt for it in en.items()] == [r["prompt"] for r in records]
    assert [it.prompt for it in zh.items()] == [render(r, "zh") for r in records]
    assert zh.checksum() != en.checksum()
    desc = zh.describe()
    assert desc["options"]["language"] == "zh" and desc["translation"]["language"] == "zh"
    assert len(desc["translation"]["sha256"]) == 64
    with pytest.raises(UserError, match="language 'de'"):
        load_suite("geneval", None, {"metadata": str(metadata_path), "language": "de"})
