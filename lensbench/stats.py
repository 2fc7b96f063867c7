"""Statistics shared by all scorers: percentile bootstrap confidence intervals (numpy only).

Every CI in lensbench comes from here so that reports, the regression gate and ablations agree.
Resampling unit is whatever the caller passes (prompts for GenEval / DPG-Bench, images for OCR).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

DEFAULT_N_BOOT = 2000
DEFAULT_SEED = 0


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    stat: Callable[[np.ndarray], float] = np.mean,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = 0.05,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap (1 - alpha) CI of `stat` over `values` (resampled with replacement).

    Returns (nan, nan) for fewer than two values: one value shows no spread, and (v, v) would read as certainty.
    """
    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    if stat is np.mean:
        boots = x[idx].mean(axis=1)
    else:
        boots = np.array([stat(x[i]) for i in idx])
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def bootstrap_ci_grouped(
    groups: Sequence[Sequence[float]],
    stat: Callable[[list[np.ndarray]], float],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = 0.05,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Stratified bootstrap: resample within each group independently, then apply `stat` to the list of
    resampled groups (e.g. GenEval's mean of per-tag means, resampling prompts within each tag)."""
    arrays = [np.asarray(g, dtype=float) for g in groups]
    if not arrays or any(a.size == 0 for a in arrays) or all(a.size == 1 for a in arrays):
        return (float("nan"), float("nan"))  # one unit per group: no spread to resample, no CI (not [v, v])
    rng = np.random.default_rng(seed)
    boots = np.empty(n_boot)
    for b in range(n_boot):
        boots[b] = stat([a[rng.integers(0, a.size, size=a.size)] for a in arrays])
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))


def paired_bootstrap_ci(
    treatment: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    alpha: float = 0.05,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Mean paired difference (treatment - control) over matched units and its percentile bootstrap CI.

    Units (e.g. prompts) are resampled jointly, so the CI reflects the pairing.
    """
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    if t.shape != c.shape:
        raise ValueError(f"paired samples differ in length: {t.shape} vs {c.shape}")
    d = t - c
    lo, hi = bootstrap_ci(d, n_boot=n_boot, alpha=alpha, seed=seed)
    return (float(d.mean()) if d.size else float("nan"), lo, hi)
