"""DPG-Bench official scoring logic on hand-built question graphs (expected values computed by hand)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lensbench.scorers.dpg import official
from lensbench.scorers.dpg.official import (
    MissingParentError,
    answer_score,
    apply_dependencies,
    category_scores,
    corrected_category_entries,
    dpg_score,
    official_category_entries,
    score_item,
)
from lensbench.scorers.dpg.questions import Question, category_l1, category_l2


def qs(*specs):
    """specs: (qid, deps, tuple) -> ordered {qid: Question} (dict order = CSV order)."""
    return {qid: Question(qid, f"q{qid}?", tup, tuple(deps)) for qid, deps, tup in specs}


@pytest.mark.parametrize(
    "answer, exact, normalized",
    [("yes", 1.0, 1.0), ("Yes", 0.0, 1.0), ("yes.", 0.0, 1.0), (" yes", 0.0, 1.0), ("YES!", 0.0, 1.0),
     ("Yes, there is.", 0.0, 1.0), ("no", 0.0, 0.0), ("No.", 0.0, 0.0), ("", 0.0, 0.0), ("yesterday", 0.0, 0.0),
     ("2", 0.0, 0.0)],
)  # fmt: skip
def test_answer_acceptance(answer, exact, normalized):
    assert answer_score(answer) == exact  # official: answer == 'yes', nothing else
    assert answer_score(answer, "normalized") == normalized
    with pytest.raises(ValueError):
        answer_score(answer, "fuzzy")


def test_chain_cascades_in_order():
    deps = {1: (0,), 2: (1,), 3: (2,)}
    final, valid = apply_dependencies(deps, {1: 0.0, 2: 1.0, 3: 1.0})
    assert final == {1: 0.0, 2: 0, 3: 0}
    assert valid == {1: True, 2: False, 3: False}


def test_child_listed_before_parent_is_not_reached_by_the_cascade():
    # Official order is CSV order, not a fixpoint: 3 is visited while its parent 2 still scores 1.
    deps = {3: (2,), 2: (1,), 1: (0,)}
    final, valid = apply_dependencies(deps, {1: 0.0, 2: 1.0, 3: 1.0})
    assert final == {1: 0.0, 2: 0, 3: 1.0}
    assert valid == {3: True, 2: False, 1: True}


def test_raw_scores_are_not_modified():
    raw = {1: 0.0, 2: 1.0}
    apply_dependencies({1: (0,), 2: (1,)}, raw)
    assert raw == {1: 0.0, 2: 1.0}


@pytest.mark.parametrize("p1, p2, expected", [(1.0, 1.0, 1.0), (1.0, 0.0, 0), (0.0, 1.0, 0), (0.0, 0.0, 0)])
def test_multi_parent_any_zero_parent_zeroes(p1, p2, expected):
    final, _ = apply_dependencies({1: (0,), 2: (0,), 3: (1, 2)}, {1: p1, 2: p2, 3: 1.0})
    assert final[3] == expected


def test_missing_parent_raises_only_when_reached():
    with pytest.raises(MissingParentError) as exc:
        apply_dependencies({2: (5,)}, {2: 1.0})
    assert (exc.value.qid, exc.value.parent) == (2, 5)
    assert isinstance(exc.value, KeyError)  # the official script raises KeyError
    # parent 1 scores 0 first: the official loop breaks before looking up 5
    final, _ = apply_dependencies({1: (0,), 2: (1, 5)}, {1: 0.0, 2: 1.0})
    assert final == {1: 0.0, 2: 0}
    with pytest.raises(MissingParentError):
        apply_dependencies({1: (0,), 2: (1, 5)}, {1: 1.0, 2: 1.0})


GRAPH = qs(
    (1, (0,), "entity - whole (cat)"),
    (2, (1,), "attribute - color (cat, black)"),
    (3, (0,), "entity - whole (dog)"),
    (4, (2, 3), "relation - spatial (cat, dog, next to)"),
)
TILES = [
    {1: "yes", 2: "yes", 3: "yes", 4: "yes"},  # all 1 -> 1.0
    {1: "no", 2: "yes", 3: "yes", 4: "yes"},  # 1=0 -> 2=0 -> 4=0 -> 0.25
    {1: "Yes", 2: "yes", 3: "yes.", 4: "yes"},  # raw 0,1,0,1 -> 0,0,0,0 -> 0.0
    {1: "yes", 2: "", 3: "yes", 4: "no"},  # raw 1,0,1,0 -> 0.5
]


def test_score_item_by_hand():
    item = score_item(GRAPH, TILES)
    assert item.tile_scores == (1.0, 0.25, 0.0, 0.5)
    assert item.prompt_score == pytest.approx(0.4375, abs=0)
    assert item.raw[2] == {1: 0.0, 2: 1.0, 3: 0.0, 4: 1.0}
    assert item.final[2] == {1: 0.0, 2: 0, 3: 0.0, 4: 0}
    assert item.validity[1] == {1: True, 2: False, 3: True, 4: False}


def test_score_item_normalized_mode_differs_only_on_non_exact_answers():
    item = score_item(GRAPH, TILES, answer_mode="normalized")
    assert item.tile_scores == (1.0, 0.25, 1.0, 0.5)
    assert item.prompt_score == 0.6875


def test_score_item_tiles_are_independent_and_errors():
    assert score_item(GRAPH, TILES[:1]).prompt_score == 1.0
    assert score_item(GRAPH, [TILES[1], TILES[0]]).tile_scores == (0.25, 1.0)
    with pytest.raises(ValueError):
        score_item(GRAPH, [])
    with pytest.raises(ValueError):
        score_item({}, TILES)
    with pytest.raises(MissingParentError):  # a failing tile fails the whole prompt
        score_item(qs((2, (1,), "entity - whole (x)")), [{2: "yes"}])


def test_dpg_score_is_mean_times_100():
    assert dpg_score([0.4375, 1.0]) == 71.875
    assert dpg_score([0.0]) == 0.0


def test_category_names():
    assert category_l2("entity - whole (cabbage)") == "entity - whole"
    assert category_l1(category_l2("attribute - color (cabbage, green)")) == "attribute"
    assert category_l2("global - (photo)") == "global -"
    assert category_l1("global -") == "global"
    assert category_l1(category_l2("other - count (cabbage, ==8)")) == "other"


def test_official_categories_use_last_tile_raw_scores():
    item = score_item(GRAPH, TILES)
    entries = official_category_entries(GRAPH, item)  # last tile raw: 1, 0, 1, 0
    assert [v for _, v in entries] == [1.0, 0.0, 1.0, 0.0]
    assert category_scores(entries) == {"attribute": 0.0, "entity": 100.0, "relation": 0.0}
    assert category_scores(entries, level="l2") == {"attribute - color": 0.0, "entity - whole": 100.0, "relation - spatial": 0.0}


def test_corrected_categories_use_all_tiles_after_dependencies():
    item = score_item(GRAPH, TILES)
    entries = corrected_category_entries(GRAPH, item)
    assert [v for _, v in entries] == [0.5, 0.25, 0.75, 0.25]
    assert category_scores(entries) == {"attribute": 25.0, "entity": 62.5, "relation": 25.0}


def test_categories_are_question_weighted_over_prompts():
    entries = [("entity - whole", 1.0), ("entity - whole", 0.0), ("entity - whole", 0.0), ("entity - part", 1.0)]
    assert category_scores(entries) == {"entity": 50.0}
    assert category_scores(entries, level="l2") == {"entity - part": 100.0, "entity - whole": pytest.approx(100 / 3)}
    with pytest.raises(ValueError):
        category_scores(entries, level="l3")


# -- an oracle: the official per-sample loop, transcribed step by step, against random graphs --------------
def _official_oracle(qid2dependency, tiles):
    qid2scores, scores = {}, []
    for answers in tiles:
        for qid in qid2dependency:
            qid2scores[qid] = float(answers[qid] == "yes")
        for qid, parents in qid2dependency.items():
            zero = False
            for parent in parents:
                if parent == 0:
                    continue
                if qid2scores[parent] == 0:  # KeyError when missing, as upstream
                    zero = True
                    break
            if zero:
                qid2scores[qid] = 0
        scores.append(sum(qid2scores.values()) / len(qid2scores))
    return sum(scores) / len(scores)


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 7))
    order = draw(st.permutations(list(range(1, n + 1))))
    deps = {q: tuple(draw(st.lists(st.integers(0, n + 1), min_size=1, max_size=3))) for q in order}
    n_tiles = draw(st.integers(1, 4))
    tiles = [{q: draw(st.sampled_from(["yes", "no", "Yes", "yes.", ""])) for q in order} for _ in range(n_tiles)]
    return deps, tiles


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_matches_transcribed_official_loop(case):
    deps, tiles = case
    questions = {q: Question(q, "?", "entity - whole (x)", d) for q, d in deps.items()}
    try:
        expected = _official_oracle(deps, tiles)
    except KeyError:
        with pytest.raises(MissingParentError):
            score_item(questions, tiles)
        return
    assert official.score_item(questions, tiles).prompt_score == expected
