"""Bootstrap CIs: a CI is only given where the data can show variability (never a false zero-width CI)."""

from __future__ import annotations

import math

import numpy as np

from lensbench import stats


def test_ci_of_one_value_is_unknown_not_zero_width():
    # one prompt says nothing about the spread: [v, v] would claim certainty
    lo, hi = stats.bootstrap_ci([0.75])
    assert math.isnan(lo) and math.isnan(hi)
    d, lo, hi = stats.paired_bootstrap_ci([1.0], [0.0])
    assert d == 1.0 and math.isnan(lo) and math.isnan(hi)


def test_stratified_ci_with_one_unit_per_group_is_unknown():
    # `lensbench demo`: 6 GenEval prompts, one per tag, printed "0.333 [0.333, 0.333] (n=6)"
    groups = [np.array([1.0]), np.array([0.0]), np.array([0.0])]
    lo, hi = stats.bootstrap_ci_grouped(groups, lambda arrs: float(np.mean([a.mean() for a in arrs])))
    assert math.isnan(lo) and math.isnan(hi)
    # one group with two units already shows variability: a real interval
    lo, hi = stats.bootstrap_ci_grouped([np.array([1.0, 0.0]), np.array([0.0])],
                                        lambda arrs: float(np.mean([a.mean() for a in arrs])), n_boot=400)
    assert lo < hi


def test_ci_of_several_values_unchanged():
    lo, hi = stats.bootstrap_ci([0.0, 1.0, 1.0, 0.0], n_boot=400)
    assert 0.0 <= lo < hi <= 1.0
