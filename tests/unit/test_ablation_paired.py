"""Paired deltas against the control: hand-computed examples for every aggregate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lensbench import stats
from lensbench.ablation.paired import PAIRED_SPECS, PairedSpec, headline, paired_deltas, per_prompt, spec_for

MEAN = PairedSpec("m", "mean", field="correct")


def test_paired_bootstrap_ci_hand_example():
    # differences (1, 0): resampled means are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4 -> 95% CI = [0, 1]
    d, lo, hi = stats.paired_bootstrap_ci([1.0, 1.0], [0.0, 1.0], n_boot=4000)
    assert (d, lo, hi) == (0.5, 0.0, 1.0)
    # identical differences: a degenerate CI at the difference
    assert stats.paired_bootstrap_ci([3.0, 4.0, 5.0], [1.0, 2.0, 3.0]) == (2.0, 2.0, 2.0)


def test_per_prompt_averages_images_and_skips_failures():
    recs = [{"item_id": "a", "correct": True}, {"item_id": "a", "correct": False}, {"item_id": "b", "correct": 1},
            {"item_id": "b", "correct": None}, {"item_id": "c", "status": "failed", "correct": True}, {"correct": True}]
    assert per_prompt(recs, MEAN) == {"a": 0.5, "b": 1.0}


def test_mean_delta_matches_hand_computation():
    t = {"p1": 1.0, "p2": 1.0, "p3": 0.0, "p4": 1.0, "extra": 1.0}
    c = {"p1": 0.0, "p2": 1.0, "p3": 0.0, "p4": 0.0, "missing": 0.0}
    (row,) = paired_deltas(t, c, MEAN, n_boot=4000)
    assert row.n_pairs == 4 and row.delta == pytest.approx(0.5) and (row.treatment, row.control) == (0.75, 0.25)
    # differences (1, 0, 0, 1): the bootstrap mean of 4 Bernoulli(1/2) draws -> 2.5% / 97.5% quantiles 0 and 1
    assert (row.ci_low, row.ci_high) == (0.0, 1.0)


def test_category_mean_delta_is_the_difference_of_geneval_scores():
    spec = PAIRED_SPECS["geneval"]
    cats = {"a": "single", "b": "single", "c": "count", "d": "count", "e": "count"}
    t = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 0.0, "e": 0.0}
    c = {"a": 1.0, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.0}
    rows = {r.category: r for r in paired_deltas(t, c, spec, categories=cats)}
    # GenEval = mean of tag accuracies: t = (1 + 1/3) / 2, c = (1/2 + 0) / 2
    assert rows[None].treatment == pytest.approx(2 / 3) and rows[None].control == pytest.approx(0.25)
    assert rows[None].delta == pytest.approx(2 / 3 - 0.25)
    assert rows["single"].delta == pytest.approx(0.5) and rows["count"].delta == pytest.approx(1 / 3)
    assert rows[None].ci_low <= rows[None].delta <= rows[None].ci_high
    # the headline CI resamples within tags: it equals bootstrap_ci_grouped over the per-tag differences
    lo, hi = stats.bootstrap_ci_grouped([np.array([0.0, 1.0]), np.array([1.0, 0.0, 0.0])],
                                        lambda arrs: float(np.mean([a.mean() for a in arrs])))
    assert (rows[None].ci_low, rows[None].ci_high) == (lo, hi)


def test_ratio_delta_pools_counts():
    spec = PAIRED_SPECS["text"]
    recs_t = [{"item_id": "a", "word_correct": 3, "word_total": 4}, {"item_id": "a", "word_correct": 1, "word_total": 4},
              {"item_id": "b", "word_correct": 2, "word_total": 2}]
    recs_c = [{"item_id": "a", "word_correct": 2, "word_total": 8}, {"item_id": "b", "word_correct": 0, "word_total": 2}]
    t, c = per_prompt(recs_t, spec), per_prompt(recs_c, spec)
    assert t == {"a": (4.0, 8.0), "b": (2.0, 2.0)} and headline(t, spec) == pytest.approx(0.6)
    (row,) = paired_deltas(t, c, spec)
    assert row.delta == pytest.approx(6 / 10 - 2 / 10) and row.n_pairs == 2
    assert row.ci_low <= row.delta <= row.ci_high


def test_scale_and_empty_and_overrides():
    dpg = PAIRED_SPECS["dpg"]
    (row,) = paired_deltas({"a": 0.9}, {"a": 0.8}, dpg)
    assert row.delta == pytest.approx(10.0) and math.isnan(row.ci_low)  # one pair: no CI
    (empty,) = paired_deltas({"a": 1.0}, {"b": 1.0}, MEAN)
    assert empty.n_pairs == 0 and math.isnan(empty.delta)
    assert spec_for("geneval") is PAIRED_SPECS["geneval"] and spec_for("unknown") is None
    s = spec_for("unknown", {"paired_field": "score", "paired_metric": "pixels"})
    assert (s.metric, s.aggregate, s.field) == ("pixels", "mean", "score")
    r = spec_for("x", {"paired_aggregate": "ratio", "paired_field": "hit/total"})
    assert (r.num, r.den, r.aggregate) == ("hit", "total", "ratio")
    with pytest.raises(ValueError):
        PairedSpec("m", "median", field="x")
