"""GenEval ties (issue 13 item 9): detections are ordered with exactly the official call
``np.argsort(scores)[::-1]`` (numpy's default kind), so tied scores resolve as the official scorer resolves them
on the same machine. Checked for 4 to 16 tied scores against np.argsort itself."""

from __future__ import annotations

import numpy as np
import pytest

from lensbench.scorers.geneval.decision import DecisionOptions, select_detections


def _rows(scores: list[float]) -> np.ndarray:
    # x1 encodes the row index, so the kept boxes say which detection came first
    return np.array([[i, 0, i + 10, 10, s] for i, s in enumerate(scores)], dtype=np.float32)


@pytest.mark.parametrize("n_tied", range(4, 17))
def test_tied_scores_keep_numpy_argsort_order(n_tied):
    rng = np.random.default_rng(n_tied)
    scores = [0.8] * n_tied + [float(v) for v in rng.uniform(0.31, 0.99, 5)] + [0.1, 0.2]
    order = rng.permutation(len(scores))
    rows = _rows([scores[i] for i in order])
    opts = DecisionOptions(max_objects=64)
    kept = select_detections({"dog": rows}, "single_object", options=opts)["dog"]
    expected = np.argsort(rows[:, 4])[::-1]  # evaluate_images.py
    expected = [int(i) for i in expected if rows[i, 4] > np.float32(0.3)]
    assert [int(k.box[0]) for k in kept] == expected


@pytest.mark.parametrize("n_tied", [4, 9, 16])
def test_max_objects_cuts_the_official_order(n_tied):
    rows = _rows([0.5] * n_tied)
    kept = select_detections({"cat": rows}, "single_object", options=DecisionOptions(max_objects=3))["cat"]
    assert [int(k.box[0]) for k in kept] == [int(i) for i in np.argsort(rows[:, 4])[::-1][:3]]
