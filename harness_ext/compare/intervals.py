"""Closed-form paired tests and intervals: paired t, cluster-robust t, Tango's score interval.

Tango (1998), "Equivalence test and confidence interval for the difference in proportions for
the paired-sample design", Stat Med 17:891-908: the score interval for p_b - p_a. Newcombe's
hybrid score interval (method 10) was tried first and covered only 0.93 (0.79 with one
discordant cell empty) at n = 30-50; Tango's covers >= 0.95 there.
"""

from __future__ import annotations

import numpy as np
from scipy import special


def _z(alpha: float) -> float:
    return float(special.ndtri(1 - alpha / 2))


def _tango_score(delta: np.ndarray, x01: np.ndarray, x10: np.ndarray, n: int) -> np.ndarray:
    """Tango's score statistic for H0: p01 - p10 = delta (decreasing in delta).

    q is the restricted MLE of p10 given p01 = p10 + delta: the positive root of
    2n q^2 - B q - C = 0 (derived from the multinomial likelihood; at delta = 0 it is the
    pooled discordance, and the statistic is McNemar's z).
    """
    xc = n - x01 - x10
    b = x01 * (1 - delta) + x10 * (1 - 3 * delta) - 2 * delta * xc
    c = x10 * delta * (1 - delta)
    q = (b + np.sqrt(np.maximum(b * b + 8 * n * c, 0.0))) / (4 * n)
    var = n * (2 * q + delta - delta * delta)
    num = x01 - x10 - n * delta
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, num / np.sqrt(np.maximum(var, 1e-300)), np.sign(num) * np.inf)


def tango_interval(n01: np.ndarray, n10: np.ndarray, n: int, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Tango's score interval for p_b - p_a from paired 0/1 outcomes (vectorised over pairs).

    n01: docs only b got right; n10: docs only a got right. The interval is every delta whose
    score test is not rejected, found by bisection. It keeps a sensible width when few or no
    pairs are discordant and covers >= 0.95 at n = 30-50 in tests/test_stats.py.
    """
    x01, x10 = np.asarray(n01, dtype=float), np.asarray(n10, dtype=float)
    z = _z(alpha)
    est = (x01 - x10) / n

    def root(target: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        for _ in range(60):  # 2**-60: far below any printed digit
            mid = (lo + hi) / 2
            above = _tango_score(mid, x01, x10, n) > target
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        return (lo + hi) / 2

    return root(z, np.full_like(est, -1.0), est.copy()), root(-z, est.copy(), np.full_like(est, 1.0))


def paired_t(d: np.ndarray) -> tuple[float, float]:
    """Paired t-test of mean(d) = 0: (t, two-sided p), as scipy.stats.ttest_rel.

    All-zero differences give (0, 1); a constant non-zero difference gives (+-inf, 0).
    """
    d = np.asarray(d, dtype=float)
    n = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else float("nan")
    if n < 2:
        return float("nan"), 1.0
    if sd == 0:
        return (0.0, 1.0) if mean == 0 else (float(np.sign(mean) * np.inf), 0.0)
    t = mean / (sd / np.sqrt(n))
    return float(t), float(2 * special.stdtr(n - 1, -abs(t)))


def cluster_t(d: np.ndarray, units_sums: np.ndarray, sizes: np.ndarray) -> tuple[float, float]:
    """Cluster-robust (CR1) t-test of the doc mean of d with G - 1 df (a check, not primary)."""
    g = len(sizes)
    if g < 2:
        return float("nan"), 1.0
    mean = units_sums.sum() / sizes.sum()
    resid = units_sums - mean * sizes
    se = np.sqrt(g / (g - 1) * np.sum(resid**2)) / sizes.sum()
    if se == 0:
        return (0.0, 1.0) if mean == 0 else (float(np.sign(mean) * np.inf), 0.0)
    t = mean / se
    return float(t), float(2 * special.stdtr(g - 1, -abs(t)))


NO_VARIATION = "the widest case for values in [0, 1] (every value was the same)"


def in_unit_range(x: np.ndarray) -> bool:
    return bool(x.size) and float(np.min(x)) >= 0.0 and float(np.max(x)) <= 1.0


def constant(x: np.ndarray) -> np.ndarray:
    """Per row: every value equal, so resampling cannot say how far the mean may be."""
    return np.ptp(np.atleast_2d(x), axis=1) == 0


def no_variation_interval(n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Difference interval when every paired difference is 0 for a [0, 1] metric.

    A bootstrap gives the useless [0, 0]. Among differences bounded in [-1, 1] with a given
    mean, the 0/+-1 (paired binary) ones vary most, so Tango's score interval with no
    discordant pair out of ``n`` is the conservative answer.
    """
    lo, hi = tango_interval(np.array([0]), np.array([0]), n, alpha)
    return float(lo[0]), float(hi[0])


def t_interval(d: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """mean(d) +- t_{n-1} SE: the paired t-test inverted, so interval and test always agree."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    if n < 2:
        return float("-inf"), float("inf")
    se = float(d.std(ddof=1)) / np.sqrt(n)
    half = float(special.stdtrit(n - 1, 1 - alpha / 2)) * se
    return float(d.mean() - half), float(d.mean() + half)


def nearly_constant(d: np.ndarray) -> bool:
    """Every value equal up to float noise (b - a of two float metrics is rarely exactly constant)."""
    d = np.asarray(d, dtype=float)
    return bool(d.size) and float(np.ptp(d)) <= 1e-9 * max(1.0, float(np.max(np.abs(d))))


def metric_span(x: np.ndarray) -> float:
    """Width of the range the metric's values can take: 1 for a [0, 1] metric, else the observed range."""
    return 1.0 if in_unit_range(x) else float(np.ptp(x)) if np.size(x) else float("nan")


SAME_DIFFERENCE = "worst-case score (every paired difference the same)"


def same_difference(c: float, n: int, span: float, alpha: float = 0.05) -> tuple[float, float, float]:
    """(low, high, p) when every one of n paired differences equals c != 0.

    The sample has no spread, so the paired t's p = 0 and its zero-width interval are artefacts.
    Among differences in [-span, span] with mean c, the two-point ones at +-span vary most: a
    paired 0/1 table with n (1 + c/span) / 2 docs won and the rest lost. Tango's score interval
    of that table (scaled by span) bounds the difference; the p-value is its score test at 0
    (McNemar's z), never below the exact sign-flip floor 2 / 2^n. Both come from one statistic.
    """
    r = c / span
    won, lost = np.array([n * (1 + r) / 2]), np.array([n * (1 - r) / 2])
    lo, hi = tango_interval(won, lost, n, alpha)
    p = max(float(special.erfc(abs(r) * np.sqrt(n) / np.sqrt(2))), min(1.0, 2.0 / 2.0 ** min(n, 1000)))
    return float(lo[0]) * span, float(hi[0]) * span, p


def clip_to_range(lo: np.ndarray, hi: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """An interval of a bounded quantity never leaves its range, and an unbounded end becomes the bound."""
    lo = np.where(np.isnan(lo), low, np.clip(lo, low, high))
    hi = np.where(np.isnan(hi), high, np.clip(hi, low, high))
    return lo, hi


def agrees(lo: float, hi: float, p: float, alpha: float) -> bool:
    """Does 'the interval excludes 0' say the same as 'p < alpha'?"""
    return bool((lo > 0 or hi < 0) == (p < alpha))


def extend_to_zero(lo: float, hi: float) -> tuple[float, float]:
    """The smallest superset of [lo, hi] holding 0 (still a valid, more conservative interval)."""
    return min(lo, 0.0), max(hi, 0.0)
