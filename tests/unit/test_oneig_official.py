"""OneIG-Bench official logic on hand-made cases; expected values worked out from the official scripts
(OneIG-Bench/OneIG-Benchmark @ 41b4983, scripts/*/*_score.py, scripts/text/text_utils.py, scripts/utils/utils.py)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from lensbench.errors import UserError
from lensbench.scorers.oneig import alignment as al
from lensbench.scorers.oneig import official as of
from lensbench.scorers.oneig import similarity as sim
from lensbench.scorers.oneig import text as tx


# -- alignment ----------------------------------------------------------------------------------------
def _graph(deps):
    q = {str(k): f"q{k}?" for k in deps}
    return al.parse_graph({"question": json.dumps(q), "dependency": json.dumps({str(k): v for k, v in deps.items()})})


def test_parse_graph_decodes_json_strings_to_int_keys():
    g = _graph({1: [0], 2: [1]})
    assert g.questions == {1: "q1?", 2: "q2?"} and g.dependencies == {1: [0], 2: [1]}
    with pytest.raises(UserError, match="malformed"):
        al.parse_graph({"question": "{not json", "dependency": "{}"})


def test_dependency_filter_reads_raw_parent_scores_not_cascading():
    g = _graph({1: [0], 2: [1], 3: [2]})
    answers = {1: ["Yes", "No"], 2: ["Yes", "Yes"], 3: ["Yes", "Yes"]}
    res = al.prompt_score(g, answers)
    # tile 1: q2 zeroed (parent q1 raw 0); q3 keeps 1 because its parent q2's RAW score is 1
    assert res["tile_scores"] == [1.0, pytest.approx(1 / 3)]
    assert res["score"] == pytest.approx(2 / 3)
    fixed = al.prompt_score(g, answers, cascade=True)  # the recorded fix: q3 follows q2's filtered 0
    assert fixed["tile_scores"] == [1.0, 0.0] and fixed["score"] == 0.5


def test_answer_matching_is_exact_yes_by_default():
    assert [al.answer_score(a) for a in ("Yes", "yes", "Yes.", " Yes", "No")] == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert [al.answer_score(a, "normalized") for a in ("Yes", "yes", "Yes.", " Yes", "No", "")] == [1, 1, 1, 1, 0, 0]


def test_unknown_parent_is_ignored_and_zero_means_no_parent():
    g = _graph({1: [7], 2: [0, 1]})
    res = al.prompt_score(g, {1: ["No"], 2: ["Yes"]})
    assert res["filtered"] == {1: [0.0], 2: [0.0]} and res["score"] == 0.0
    res = al.prompt_score(g, {1: ["Yes"], 2: ["Yes"]})
    assert res["score"] == 1.0


def test_question_ids_must_be_one_to_n_and_missing_prompts_are_skipped():
    bad = al.QuestionGraph({1: "a", 3: "b"}, {1: [0], 3: [0]})
    with pytest.raises(UserError, match="1..N"):
        al.prompt_score(bad, {1: ["Yes"], 3: ["Yes"]})
    assert al.alignment_score([0.5, None, 1.0]) == 0.75  # pandas mean skips the None (NaN) prompts
    assert al.alignment_score([None]) is None


# -- text ---------------------------------------------------------------------------------------------
def test_preprocess_string_official_normalisation():
    assert tx.preprocess_string("['Hello, World!', 'Sale 50%']") == "Hello World Sale 50"
    assert tx.preprocess_string("  Café  ÉTÉ\n\tß ") == "Café ÉTÉ"  # accents kept, ß dropped, case kept
    assert tx.preprocess_string("['心理 健康', 'AB c']") == "心理健康ABc"  # Chinese: all whitespace removed
    assert tx.preprocess_string("①②") == ""


def test_hallucination_keywords_need_the_period():
    assert tx.clean_hallucinations(["No text recognized.", "No text recognized", "addCriterion\nSale"]) == [
        "", "No text recognized", "\nSale"]


def test_levenshtein_and_match_counts():
    assert tx.levenshtein("kitten", "sitting") == 3 and tx.levenshtein("", "abc") == 3
    assert tx.match_counts("a b b c", "b b d") == (2, 0.5, 4)
    assert tx.match_counts("心理健康", "心心理") == (2, 0.5, 4)  # characters when the GT has Chinese
    assert tx.match_counts("", "x") == (0, 0.0, 0)


def test_text_score_is_tile_weighted_and_wac_pooled():
    a = tx.tile_metrics("['a b']", ["a b", "a"])
    b = tx.tile_metrics("['c d e f']", ["x"])
    assert [t["ed"] for t in a + b] == [0.0, 2.0, 7.0]
    s = tx.text_summary(a + b, 100)
    assert s["ED"] == 3.0 and s["CR"] == pytest.approx(1 / 3) and s["WAC"] == pytest.approx(3 / 8)  # not (0.75+0)/2
    assert s["text score"] == pytest.approx(1 - 3 * (2 / 3) * (5 / 8) / 100)
    assert tx.text_summary(b, 50)["text score"] == pytest.approx(1 - 7 / 50)  # ZH cap 50
    far = tx.tile_metrics("['a']", ["z" * 300])
    assert tx.text_summary(far, 100)["text score"] == 0.0  # min(MAX_ED, ED) caps at 100
    assert tx.prompt_row(a) == [1.0, 0.5, 0.75]


def test_black_grid_reuses_previous_ocr_in_csv_order():
    prompts = [tx.TextPrompt("000", "['Sale']", []), tx.TextPrompt("001", "['Sale']", ["Sale"]),
               tx.TextPrompt("002", "['Sale']", []), tx.TextPrompt("003", "['Sale']", None)]
    out = tx.resolve_prompts(prompts)
    assert out[0].tiles == [] and "NameError" in out[0].note  # first prompt: official crash, left out
    assert [t["cr"] for t in out[2].tiles] == [1.0] and "previous" in out[2].note  # stale OCR of 001
    assert out[3].tiles == []  # missing grid: left out
    fixed = tx.resolve_prompts([tx.TextPrompt("001", "['Sale']", ["Sale"]), tx.TextPrompt("002", "['x']", [])],
                               black_grid="skip")
    assert fixed[1].tiles == []


def test_ocr_token_budget():
    assert tx.max_new_tokens(str(["w"] * 60)) == 128 and tx.max_new_tokens(str(["w"] * 61)) == 256


# -- reasoning, style, diversity ---------------------------------------------------------------------
def test_reasoning_prompt_mean_drops_none():
    assert sim.reasoning_prompt([0.2, None, 0.4]) == pytest.approx(0.3)
    assert sim.reasoning_prompt(None) is None and sim.reasoning_prompt([None]) is None


def test_style_max_clip_and_average():
    assert sim.style_tile([0.2, -0.1, 0.5], [-0.3, -0.2, -0.1]) == 0.25  # SE clipped at 0
    assert sim.style_prompt([0.25, 0.75]) == 0.5 and sim.style_prompt([]) is None
    table = sim.style_table([("cubism", 0.2), ("baroque", 0.4), ("cubism", 0.4), ("clay", None)])
    assert list(table) == ["baroque", "cubism"] and table["cubism"] == pytest.approx(0.3)  # STYLE_LIST order
    assert of.style_key("Baroque") == "baroque" and of.style_key("3d rendering") == "3d_rendering"
    assert of.style_key("") is None and of.style_key("nan") is None


def test_diversity_pairs_and_means():
    assert sim.pairs(4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)] and sim.pairs(1) == []
    rows = [("anime", "000", 0.2), ("anime", "000", 0.4), ("human", "000", 0.6), ("text", "001", None)]
    assert sim.class_means(rows) == {"anime": pytest.approx(0.3), "human": 0.6}  # duplicates counted per class
    table = sim.prompt_table(rows)
    assert table == {"anime_000": 0.4, "human_000": 0.6}  # later row overwrites; None cell skipped
    assert sim.total_mean(table) == pytest.approx(0.5)  # prompt-weighted over all classes
    assert sim.summary_number(0.54575) == "0.546" and sim.summary_number(None) == "-"


# -- grid ---------------------------------------------------------------------------------------------
def _grid(colours, size=(8, 8)):
    g = Image.new("RGB", size)
    for box, c in zip(of.tile_boxes(*size), colours):
        g.paste(Image.new("RGB", (box[2] - box[0], box[3] - box[1]), c), box[:2])
    return g


def test_split_grid_row_major_drops_black_tiles():
    g = _grid([(255, 0, 0), (0, 0, 0), (0, 0, 255), (0, 0, 1)])
    tiles, slots = of.split_grid(g)
    assert slots == [0, 2, 3]  # TR is pure black; (0, 0, 1) is not black
    assert [t.getpixel((0, 0)) for t in tiles] == [(255, 0, 0), (0, 0, 255), (0, 0, 1)]
    assert of.split_grid(Image.new("RGB", (8, 8)))[0] == []
    assert not of.is_black(Image.new("RGBA", (2, 2)))  # only an RGB tile equals (0, 0, 0)


def test_split_grid_uses_floor_division_and_cols_rows():
    assert of.tile_boxes(10, 6) == [(0, 0, 5, 3), (5, 0, 10, 3), (0, 3, 5, 6), (5, 3, 10, 6)]
    assert of.tile_boxes(8, 2, (4, 1)) == [(0, 0, 2, 2), (2, 0, 4, 2), (4, 0, 6, 2), (6, 0, 8, 2)]
    t = of.jpeg_roundtrip(Image.new("RGB", (16, 16), (200, 10, 10)))
    assert t.size == (16, 16) and t.mode == "RGB"


def test_constants():
    assert of.MAX_EDIT_DISTANCE == {"en": 100, "zh": 50} and len(of.STYLE_LIST) == 29
    assert of.VQA_SUFFIX == ". Please answer 'Yes' or 'No' only." and of.JPEG_QUALITY == 75
    assert of.DIMENSION_FOLDERS["zh"]["alignment"][-1] == "multilingualism"


def test_fine_grained_tables():
    from lensbench.scorers.oneig import fine_grained as fg

    meta = {"a": {"type": "NP", "prompt_length": "short"}, "b": {"type": "T, P", "prompt_length": "short"},
            "c": {"type": "NP", "prompt_length": "long"}}
    t = fg.by_tag({"a": 0.2, "b": 0.6, "c": 0.4}, meta)
    assert t["NP"] == pytest.approx(0.3) and t["short"] == pytest.approx(0.4) and t["middle"] is None
    rows = fg.text_by_length({"a": [10.0, 0.0, 0.5], "b": [0.0, 1.0, 1.0]}, meta)
    assert rows["short_ED"] == 5.0 and rows["short_WAC"] == 0.75 and rows["short_n"] == 2  # mean of prompt rows
    per_style = {s: 0.5 for s in fg.STYLE_TYPES["media"]} | {"baroque": 0.9}
    types = fg.style_types(per_style)
    assert types["media"] == 0.5 and types["traditional"] is None  # a style without prompts: NaN officially
    assert fg.by_subject({"1": 0.2, "2": 0.4}, {"1": "physics", "2": "physics"})["physics"] == pytest.approx(0.3)
