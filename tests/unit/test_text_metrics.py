"""Text-rendering metrics on hand-built cases (official CVTG-2K and LongText-Bench rules)."""

from __future__ import annotations

import math

import pytest

from lensbench.scorers.ocr import aggregate
from lensbench.scorers.ocr.metrics import (
    cvtg_word_scores,
    length_bucket,
    levenshtein,
    longtext_match,
    longtext_normalize,
    ned_similarity,
    ocr_word_tokens,
    score_image,
    split_joined_words,
    word_tokens,
)
from lensbench.suites.text_official import cvtg_extract_targets

EPS = 1e-5


@pytest.mark.parametrize(
    ("a", "b", "d"),
    [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3), ("abc", "abc", 0), ("daily", "dialy", 2),
     ("flaw", "lawn", 2), ("你好世界", "你好世", 1)],
)
def test_levenshtein(a, b, d):
    assert levenshtein(a, b) == d
    assert levenshtein(b, a) == d


def test_ned_similarity_is_cvtg_formula():
    assert ned_similarity("open", "open") == 1.0
    assert ned_similarity("abcd", "abce") == pytest.approx(1 - 1 / (4 + EPS), abs=1e-15)
    assert ned_similarity("abc", "") == pytest.approx(1 - 3 / (3 + EPS), abs=1e-15)  # ~3.3e-6, not exactly 0
    assert ned_similarity("ab", "", eps=0.0) == 0.0


def test_cvtg_targets_are_single_quoted_spans():
    prompt = "A bakery sign that reads 'Fresh Bread' and a door plate saying 'Open 24/7!'"
    assert cvtg_extract_targets(prompt) == ["Fresh Bread", "Open 24/7!"]
    assert cvtg_extract_targets('A "double quoted" sign') == []


def test_word_tokens_english_keeps_punctuation_and_lowercases():
    assert word_tokens("Open 24/7!  NOW") == ["open", "24/7!", "now"]
    assert ocr_word_tokens(["GRAND Opening", "Est. 1923"]) == ["grand", "opening", "est.", "1923"]
    assert ocr_word_tokens([]) == [""]


def test_word_tokens_chinese_characters_and_runs():
    assert word_tokens("限时8折！ABC店", "zh") == ["限", "时", "8", "折", "abc", "店"]
    assert word_tokens("水深危险 禁止游泳", "zh") == list("水深危险禁止游泳")


def test_cvtg_word_scores_membership_and_closest_match():
    correct, ned = cvtg_word_scores(["open", "24/7!"], ["open", "24/7"])
    assert correct == [True, False]
    assert ned == [1.0, pytest.approx(1 - 1 / (5 + EPS), abs=1e-15)]
    # membership, not multiset: one OCR "la" satisfies both target "la"s (as the official script counts)
    assert cvtg_word_scores(["la", "la"], ["la"])[0] == [True, True]
    # nothing read: the official pool is [''], every word scores ~0
    correct, ned = cvtg_word_scores(["hello"], [""])
    assert correct == [False] and ned[0] == pytest.approx(1 - 5 / (5 + EPS), abs=1e-15)


def test_longtext_normalisation():
    assert longtext_normalize("Hello,   World!\nCafé — 2024") == "hello world café 2024"
    assert longtext_normalize("你好，世界 ABC！", "zh") == "你好世界ABC"  # no lower-casing in zh mode
    assert longtext_normalize("¿Qué?", "en") == "qué"  # é is in the official whitelist
    assert longtext_normalize("Mañana São", "en") == "maana so"  # ñ and ã are not: they are dropped


def test_longtext_match_counts_multisets():
    # GT tokens: the, cat, the, dog (4); OCR tokens: the, cat, sat (3); intersection: the, cat
    assert longtext_match(["The cat", "the dog"], "The cat sat") == (2, 4, 2, 3)
    # zh: characters; GT 你好世界 (4), OCR 你好世 (3)
    assert longtext_match(["你好世界"], "你好 世", "zh") == (3, 4, 3, 3)
    assert longtext_match(["abc"], "", "en") == (0, 1, 0, 0)


def test_split_joined_words():
    vocab = {"grand", "opening", "fresh"}
    assert split_joined_words(["grandopening", "fresh"], vocab) == ["grand", "opening", "fresh"]
    assert split_joined_words(["grandopeningx", "grand"], vocab) == ["grandopeningx", "grand"]
    assert split_joined_words([""], vocab) == [""]


def test_score_image_regions_and_misspelling():
    s = score_image(["GRAND OPENING", "Fresh Bread Daily"], ["GRAND OPENING", "Fresh Bread Dialy"]).to_dict()
    assert (s["word_correct"], s["word_total"]) == (4, 5)
    assert s["ned_sum"] == pytest.approx(4 + 1 - 2 / (5 + EPS), abs=1e-12)
    assert (s["text_matched"], s["text_total"], s["ocr_matched"], s["ocr_total"]) == (4, 5, 4, 5)
    assert (s["region_hits"], s["region_total"]) == (1, 2)
    assert [r["hit"] for r in s["regions"]] == [True, False]
    assert s["regions"][1]["word_accuracy"] == pytest.approx(2 / 3)


def test_score_image_missing_region_and_extra_text():
    missing = score_image(["GRAND OPENING", "Fresh Bread"], ["GRAND OPENING"]).to_dict()
    assert missing["word_accuracy"] == 0.5 and missing["region_accuracy"] == 0.5
    assert missing["text_score"] == 0.5 and missing["text_precision"] == 1.0
    extra = score_image(["Fresh Bread"], ["Fresh Bread", "FREE COFFEE TODAY"]).to_dict()
    assert extra["word_accuracy"] == 1.0 and extra["text_score"] == 1.0
    assert extra["text_precision"] == pytest.approx(2 / 5)  # the only metric that sees extra text


def test_score_image_chinese_and_join_words():
    zh = score_image(["水深危险"], ["水深危验"], "zh").to_dict()
    assert (zh["word_correct"], zh["word_total"], zh["text_matched"], zh["text_total"]) == (3, 4, 3, 4)
    off = score_image(["GRAND OPENING"], ["GRANDOPENING"]).to_dict()
    on = score_image(["GRAND OPENING"], ["GRANDOPENING"], join_words=True).to_dict()
    assert off["word_accuracy"] == 0.0 and off["text_score"] == 0.0
    assert on["word_accuracy"] == 1.0 and on["text_score"] == 1.0
    with pytest.raises(ValueError):
        score_image(["x"], ["x"], "fr")


def test_length_bucket_edges():
    assert length_bucket(["one two three"], "en", (3, 10)) == "short"
    assert length_bucket(["one two", "three four"], "en", (3, 10)) == "medium"
    assert length_bucket(["word " * 11], "en", (3, 10)) == "long"
    assert length_bucket(["一二三四五"], "zh", (4, 8)) == "medium"


def _rec(item, correct, total, lang="en", cat="sign", regions=1, **extra):
    base = {"item_id": item, "word_correct": correct, "word_total": total, "ned_sum": float(correct),
            "text_matched": correct, "text_total": total, "ocr_matched": correct, "ocr_total": total,
            "region_hits": int(correct == total), "region_total": 1, "language": lang, "category": cat,
            "n_regions": regions, "length_bucket": "short"}
    base.update(extra)
    return base


def test_pooled_micro_average_not_mean_of_prompts():
    recs = [_rec("a", 3, 3), _rec("b", 1, 5)]
    rows = aggregate.summarize_records(recs, n_boot=200)
    wa = aggregate.find(rows, "word_accuracy")
    assert wa.value == pytest.approx(4 / 8)  # CVTG pools words; the mean of per-prompt ratios would be 0.6
    assert wa.n == 2 and wa.ci_low <= wa.value <= wa.ci_high
    assert aggregate.find(rows, "region_accuracy").value == 0.5


def test_images_of_one_prompt_are_pooled_and_resampled_together():
    recs = [_rec("a", 2, 2), _rec("a", 0, 2), _rec("b", 1, 1)]
    prompts = aggregate.per_prompt(recs)
    assert prompts["a"]["n_images"] == 2 and prompts["a"]["word_correct"] == 2 and prompts["a"]["word_total"] == 4
    wa = aggregate.find(aggregate.summarize_records(recs, n_boot=100), "word_accuracy")
    assert wa.value == pytest.approx(3 / 5) and wa.n == 2


def test_breakdowns_by_language_category_regions_length_and_prompt():
    recs = [_rec("a", 1, 2, "en", "sign", 2), _rec("b", 2, 2, "zh", "poster", 3), _rec("c", 0, 2, "en", "sign", 2)]
    rows = aggregate.summarize_records(recs, n_boot=100, include_prompts=True)
    assert aggregate.find(rows, "text_score", "language:en").value == pytest.approx(1 / 4)
    assert aggregate.find(rows, "text_score", "language:zh").value == 1.0
    assert aggregate.find(rows, "word_accuracy", "category:sign").n == 2
    assert aggregate.find(rows, "word_accuracy", "regions:3").value == 1.0
    assert aggregate.find(rows, "ned", "length:short").value == pytest.approx(3 / 6)
    assert aggregate.find(rows, "word_accuracy", "prompt:a").value == 0.5
    assert {r.unit for r in rows} == {"fraction"}


def test_ratio_ci_degenerate_and_empty():
    assert aggregate.ratio_ci([1, 2, 3], [2, 4, 6], n_boot=50) == (0.5, 0.5)
    lo, hi = aggregate.ratio_ci([0, 0], [0, 0])
    assert math.isnan(lo) and math.isnan(hi)
    lo, hi = aggregate.ratio_ci([0, 5, 1, 4], [5, 5, 5, 5], n_boot=500, seed=1)
    assert 0.0 <= lo < 0.5 < hi <= 1.0


def test_cvtg_official_pooling_over_areas():
    """The paper tables' CVTG "average" pools words over the 2..5-region subsets: weighted by word count."""
    recs = [_rec("p2", 9, 10, regions=2), _rec("p5", 10, 20, regions=5)]
    rows = aggregate.summarize_records(recs, n_boot=50)
    assert aggregate.find(rows, "word_accuracy", "regions:2").value == 0.9
    assert aggregate.find(rows, "word_accuracy", "regions:5").value == 0.5
    assert aggregate.find(rows, "word_accuracy").value == pytest.approx(19 / 30)  # not (0.9 + 0.5) / 2
