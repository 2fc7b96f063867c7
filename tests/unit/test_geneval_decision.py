"""Hand-built cases for GenEval's official decision logic (lensbench.scorers.geneval.decision).

Expected values are worked out by hand from the rules in shared/reference/benchmarks.md section 1.5-1.8 and
evaluate_images.py (djghosh13/geneval @ af4902f)."""

from __future__ import annotations

import numpy as np
import pytest

from lensbench.scorers.geneval.decision import (
    COLORS,
    DecisionOptions,
    color_requests,
    compute_iou,
    decide,
    evaluate,
    relative_position,
    select_detections,
)


def box(cx, cy, w=10.0, h=10.0, score=0.95):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score]


def single(cls="dog"):
    return {"tag": "single_object", "include": [{"class": cls, "count": 1}], "prompt": f"a photo of a {cls}"}


def counting(cls, n):
    return {"tag": "counting", "include": [{"class": cls, "count": n}], "exclude": [{"class": cls, "count": n + 1}],
            "prompt": f"a photo of {n} {cls}s"}


def position(a, rel, b):
    return {"tag": "position", "include": [{"class": b, "count": 1}, {"class": a, "count": 1, "position": [rel, 0]}],
            "prompt": f"a photo of a {a} {rel} a {b}"}


def never(classname, objects):  # a colour classifier that must not be called
    raise AssertionError("colour classifier called")


# -- thresholds ------------------------------------------------------------------------------------------------------
def test_score_equal_to_threshold_is_dropped_and_just_above_is_kept():
    assert decide(single(), {"dog": [box(5, 5, score=0.3)]}) == (False, "expected dog>=1, found 0")
    assert decide(single(), {"dog": [box(5, 5, score=0.3001)]}) == (True, "")


def test_threshold_compared_in_float32_like_mmdet_output():
    # 0.30000001 rounds to float32(0.3): equal to the threshold in float32, so dropped (the official compares
    # float32 scores); a float64 comparison would have kept it.
    assert decide(single(), {"dog": [box(5, 5, score=0.30000001)]})[0] is False
    assert decide(single(), {"dog": [box(5, 5, score=0.30000001)]}, options=DecisionOptions(box_dtype="float64"))[0] is True


def test_counting_uses_the_counting_threshold_only_for_counting():
    dets = {"dog": [box(5, 5, score=0.9), box(20, 5, score=0.85)]}
    assert decide(counting("dog", 1), dets) == (False, "expected dog>=1, found 0")
    assert decide(single(), dets) == (True, "")  # 0.3 applies to every other tag
    assert decide(counting("dog", 1), {"dog": [box(5, 5, score=0.9001)]}) == (True, "")


def test_thresholds_are_options():
    dets = {"dog": [box(5, 5, score=0.5)]}
    assert decide(single(), dets, options=DecisionOptions(threshold=0.6))[0] is False
    assert decide(counting("dog", 1), dets, options=DecisionOptions(counting_threshold=0.4)) == (True, "")


# -- counting and exclude --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "n_found, expected",
    [
        (1, (False, "expected dog>=2, found 1")),
        (2, (True, "")),
        (3, (False, "expected dog<3, found 3")),
        (5, (False, "expected dog<3, found 5")),
    ],
)
def test_counting_needs_exactly_n(n_found, expected):
    dets = {"dog": [box(10 + 20 * i, 10, score=0.95) for i in range(n_found)]}
    assert decide(counting("dog", 2), dets) == expected


def test_exclude_counts_only_detections_above_the_counting_threshold():
    dets = {"dog": [box(10, 10, score=0.95), box(30, 10, score=0.95), box(50, 10, score=0.7)]}
    assert decide(counting("dog", 2), dets) == (True, "")


def test_exclude_of_an_absent_class_passes_and_failures_join_with_newlines():
    meta = {"tag": "counting", "include": [{"class": "cat", "count": 1}], "exclude": [{"class": "dog", "count": 1}],
            "prompt": "x"}
    assert decide(meta, {"cat": [box(5, 5)]}) == (True, "")
    assert decide(meta, {"dog": [box(5, 5)]}) == (False, "expected cat>=1, found 0\nexpected dog<1, found 1")


# -- max objects, sorting, NMS -----------------------------------------------------------------------------------------
def test_more_than_16_detections_are_capped_at_the_16_most_confident():
    rows = [box(10 * i, 10, score=0.5 + 0.02 * i) for i in range(20)]
    kept = select_detections({"dog": rows}, "single_object")
    assert len(kept["dog"]) == 16
    assert [round(float(o.box[4]), 2) for o in kept["dog"]] == [round(0.5 + 0.02 * i, 2) for i in range(19, 3, -1)]
    # counting 17 can never be excluded after the cap: include 16 passes and exclude (count 17) does not trigger
    rows = [box(10 * i, 10, score=0.95) for i in range(20)]
    assert decide(counting("dog", 16), {"dog": rows}) == (True, "")
    assert decide(counting("dog", 16), {"dog": rows}, options=DecisionOptions(max_objects=20)) == (False, "expected dog<17, found 20")


def test_detections_are_sorted_by_score_and_ties_put_the_later_detection_first():
    kept = select_detections({"dog": [box(1, 1, score=0.4), box(2, 2, score=0.9), box(3, 3, score=0.4)]}, "colors")
    assert [float(o.box[0]) for o in kept["dog"]] == [-3.0, -2.0, -4.0]  # 0.9, then the tie: index 2 before index 0


def test_classes_with_nothing_kept_are_absent():
    kept = select_detections({"dog": [box(1, 1, score=0.1)], "cat": [], "car": [box(1, 1)]}, "single_object")
    assert list(kept) == ["car"]


def test_iou_uses_the_plus_one_pixel_convention():
    assert compute_iou([0, 0, 9, 9], [0, 0, 9, 9]) == 1.0
    assert compute_iou([0, 0, 0, 0], [0, 0, 0, 0]) == 1.0  # a one-pixel box has area 1
    assert compute_iou([0, 0, 9, 9], [10, 0, 19, 9]) == 0.0  # adjacent
    assert compute_iou([0, 0, 9, 9], [5, 0, 14, 9]) == pytest.approx(50 / 150)


def test_nms_is_off_by_default_and_drops_overlaps_at_or_above_max_overlap_when_asked():
    rows = [[0, 0, 9, 9, 0.9], [0, 0, 9, 9, 0.8], [5, 0, 14, 9, 0.7], [40, 0, 49, 9, 0.6]]
    assert len(select_detections({"dog": rows}, "single_object")["dog"]) == 4
    kept = select_detections({"dog": rows}, "single_object", options=DecisionOptions(max_overlap=50 / 150))
    assert [float(o.box[4]) for o in kept["dog"]] == pytest.approx([0.9, 0.6])  # IoU 1 and IoU 1/3 (= threshold) dropped
    kept = select_detections({"dog": rows}, "single_object", options=DecisionOptions(max_overlap=0.5))
    assert [float(o.box[4]) for o in kept["dog"]] == pytest.approx([0.9, 0.7, 0.6])


# -- position --------------------------------------------------------------------------------------------------------
def test_relative_position_directions_with_y_growing_downward():
    assert relative_position(box(10, 50), box(50, 50)) == ("left of",)
    assert relative_position(box(90, 50), box(50, 50)) == ("right of",)
    assert relative_position(box(50, 10), box(50, 50)) == ("above",)
    assert relative_position(box(50, 90), box(50, 50)) == ("below",)
    assert relative_position(box(10, 10), box(50, 50)) == ("left of", "above")


def test_equal_centres_and_offsets_inside_the_margin_have_no_relation():
    assert relative_position(box(50, 50, 10, 10), box(50, 50, 30, 30)) == ()
    # offset 5 < 0.1 * (30 + 30) = 6: shrunk to 0 on x, y offset 0 -> nothing
    assert relative_position(box(45, 50, 30, 30), box(50, 50, 30, 30)) == ()


def test_position_margin_boundary_is_strict():
    # widths sum to 100 -> margin 10; offset 20 -> shrunk 10 -> 10 / 20 = 0.5 exactly: NOT left of (needs < -0.5)
    a, b = box(30, 50, 50, 10), box(50, 50, 50, 10)
    assert relative_position(a, b) == ()
    a = box(29.5, 50, 50, 10)  # offset 20.5 -> 10.5 / 20.5 = 0.512
    assert relative_position(a, b) == ("left of",)
    assert relative_position(a, b, position_threshold=0.2) == ()


def test_position_normalises_by_the_unshrunk_offset():
    # offset (-40, -40): margins 2 each -> revised (-38, -38); / 56.57 -> -0.67 each -> both relations
    assert relative_position(box(10, 10), box(50, 50)) == ("left of", "above")
    # offset (-40, -10): revised (-38, -8) / 41.23 -> dx -0.92, dy -0.19 -> only left of
    assert relative_position(box(10, 40), box(50, 50)) == ("left of",)


def test_position_clause_pass_and_fail_reasons():
    meta = position("dog", "left of", "cat")
    assert decide(meta, {"cat": [box(80, 50)], "dog": [box(10, 50)]}) == (True, "")
    assert decide(meta, {"cat": [box(10, 50)], "dog": [box(80, 50)]}) == (False, "expected dog left of target, found right of target")
    assert decide(meta, {"cat": [box(50, 50)], "dog": [box(50, 50)]}) == (False, "expected dog left of target, found  target")
    assert decide(meta, {"cat": [box(50, 50)], "dog": [box(10, 10)]}) == (True, "")  # left of and above both hold


def test_position_with_a_missing_target_reports_both_failures():
    meta = position("dog", "left of", "cat")
    assert decide(meta, {"dog": [box(10, 50)]}) == (False, "expected cat>=1, found 0\nno target for dog to be left of")
    assert decide(meta, {"cat": [box(10, 50)]}) == (False, "expected dog>=1, found 0")


def test_position_is_judged_against_the_top_target_only():
    meta = position("dog", "left of", "cat")
    cats = [box(80, 50, score=0.9), box(0, 50, score=0.5)]  # the less confident cat is left of the dog
    assert decide(meta, {"cat": cats, "dog": [box(40, 50, score=0.9), box(95, 50, score=0.4)]}) == (True, "")
    cats = [box(80, 50, score=0.5), box(0, 50, score=0.9)]
    assert decide(meta, {"cat": cats, "dog": [box(40, 50)]}) == (False, "expected dog left of target, found right of target")


# -- colour ----------------------------------------------------------------------------------------------------------
def colors_meta(cls="car", color="red", count=1):
    return {"tag": "colors", "include": [{"class": cls, "count": count, "color": color}], "prompt": "x"}


def test_colour_classifier_gets_the_top_count_objects_and_masks():
    seen = []

    def clf(classname, objects):
        seen.append((classname, [float(o.box[4]) for o in objects], [o.mask for o in objects]))
        return ["red"] * len(objects)

    dets = {"car": [box(5, 5, score=0.4), box(20, 5, score=0.8), box(40, 5, score=0.6)]}
    masks = {"car": ["m0", "m1", "m2"]}
    assert decide(colors_meta(count=2), dets, clf, masks=masks) == (True, "")
    assert seen == [("car", pytest.approx([0.8, 0.6]), ["m1", "m2"])]


def test_colour_mismatch_on_one_of_several_objects_fails_with_the_official_breakdown():
    dets = {"car": [box(5, 5), box(20, 5)]}
    correct, reason = decide(colors_meta(count=2), dets, lambda c, objs: ["blue", "red"])
    assert (correct, reason) == (False, "expected red car>=2, found 1 red; and 1 red, 1 blue")  # COLORS order


def test_colour_attr_second_object_wrong_colour():
    meta = {"tag": "color_attr", "prompt": "x", "include": [{"class": "car", "count": 1, "color": "red"},
                                                            {"class": "bus", "count": 1, "color": "yellow"}]}
    answers = {"car": ["red"], "bus": ["green"]}
    assert decide(meta, {"car": [box(5, 5)], "bus": [box(30, 5)]}, lambda c, o: answers[c]) == (
        False, "expected yellow bus>=1, found 0 yellow; and 1 green")


def test_colour_is_not_asked_when_the_object_is_missing_and_position_not_checked_after_a_colour_failure():
    assert decide(colors_meta(), {}, never) == (False, "expected car>=1, found 0")
    meta = {"tag": "position", "prompt": "x", "include": [
        {"class": "cat", "count": 1}, {"class": "car", "count": 1, "color": "red", "position": ["left of", 0]}]}
    dets = {"cat": [box(10, 50)], "car": [box(80, 50)]}  # car is right of cat, but the colour check fails first
    assert decide(meta, dets, lambda c, o: ["black"]) == (False, "expected red car>=1, found 0 red; and 1 black")


def test_colour_clause_without_a_classifier_is_a_programming_error():
    with pytest.raises(ValueError, match="colour classifier"):
        decide(colors_meta(), {"car": [box(5, 5)]})


def test_color_requests_match_the_calls_evaluate_makes():
    meta = {"tag": "color_attr", "prompt": "x", "include": [{"class": "car", "count": 1, "color": "red"},
                                                            {"class": "bus", "count": 1, "color": "red"}]}
    kept = select_detections({"car": [box(5, 5)], "bus": [box(30, 5)]}, "color_attr")
    calls = []
    evaluate(meta, kept, lambda c, o: calls.append((c, len(o))) or ["red"])
    assert [(c, len(o)) for c, o in color_requests(meta, kept)] == calls == [("car", 1), ("bus", 1)]
    kept = select_detections({"bus": [box(30, 5)]}, "color_attr")
    assert [c for c, _ in color_requests(meta, kept)] == ["bus"]


def test_options_parse_strings_and_round_trip():
    opts = DecisionOptions.from_options({"threshold": "0.25", "max_objects": "8", "max_overlap": "0.5", "other": 1})
    assert (opts.threshold, opts.max_objects, opts.max_overlap, opts.counting_threshold) == (0.25, 8, 0.5, 0.9)
    d = DecisionOptions().to_dict()
    assert d["colors"] == list(COLORS) and d["position_threshold"] == 0.1 and d["box_dtype"] == "float32"
    assert DecisionOptions.from_options(d) == DecisionOptions()


def test_detections_accept_numpy_arrays_in_any_order():
    rows = np.array([box(80, 50, score=0.2), box(10, 50, score=0.7)], dtype=np.float32)
    assert decide(single(), {"dog": rows}) == (True, "")
