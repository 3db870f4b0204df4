"""The statistics corner classes: p-value floors, stars that agree with intervals, bounded intervals.

Each test runs the real analysis path (`analysis.analyze` on a MetricGroup, then the report-wide
`api.reconcile`) on data built to hit the corner.
"""

from __future__ import annotations

import zlib
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats as sps

from harness_ext.compare import analysis, api, intervals, resample
from harness_ext.compare.runs import MetricGroup
from harness_ext.compare.setup import Setup

pytestmark = pytest.mark.unit


def _analyze(values: np.ndarray, clusters=None, alpha: float = 0.05, iterations: int = 2000, seed: int = 0):
    values = np.asarray(values, dtype=float)
    binary = bool(np.all((values == 0) | (values == 1)))
    group = MetricGroup("t", "m", "none", list(range(values.shape[1])), values, clusters, binary)
    k = len(values)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    setup = Setup([f"r{i}" for i in range(k)], pairs, alpha, alpha / len(pairs), iterations, False, [{}] * k)
    res = analysis.analyze(group, setup, np.random.default_rng(seed))
    if res.perm is not None:
        ps = res.perm.pvalues()
        res.comparisons[:] = [
            replace(c, p_value=float(p), resampled=not res.perm.exact) for c, p in zip(res.comparisons, ps)
        ]
    api.reconcile(res.comparisons, alpha)
    return res


@pytest.mark.parametrize("n", [3, 5, 6, 12, 150])
@pytest.mark.parametrize("shift", [0.1, -0.4, 0.9])
def test_a_constant_non_zero_difference_is_floored_and_has_width(n, shift):
    rng = np.random.default_rng(n)
    a = rng.uniform(0, 1 - abs(shift), n) + (abs(shift) if shift < 0 else 0.0)
    c = _analyze(np.vstack([a, a + shift])).comparisons[0]
    assert c.p_value >= 2.0 / 2**n and c.p_value > 0
    assert c.ci_high - c.ci_low > 0 and -1 <= c.ci_low <= c.ci_high <= 1
    assert intervals.agrees(c.ci_low, c.ci_high, c.p_value, 0.05)
    assert c.ci_low <= shift <= c.ci_high
    if 2.0 / 2**n >= 0.05:  # no outcome on so few docs can be significant
        assert c.p_value >= 0.05 and c.ci_low <= 0 <= c.ci_high


@pytest.mark.parametrize("n", [40, 400])
def test_an_unbounded_metric_with_a_constant_difference_uses_its_observed_range(n):
    rng = np.random.default_rng(1)
    a = rng.uniform(0, 10, n)
    c = _analyze(np.vstack([a, a + 2.0])).comparisons[0]
    assert c.ci_low < 2.0 < c.ci_high and c.p_value >= 2.0 / 2**n
    assert intervals.agrees(c.ci_low, c.ci_high, c.p_value, 0.05)
    assert (c.ci_low > 0) == (n == 400)  # the range is ~12 wide: 40 docs cannot rule out the worst case


def test_the_t_interval_is_scipys_and_matches_the_paired_t():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0, 1, 25), rng.uniform(0, 1, 25)
    c = _analyze(np.vstack([a, b])).comparisons[0]
    ref = sps.ttest_rel(b, a)
    ci = ref.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == pytest.approx((ci.low, ci.high))
    assert c.p_value == pytest.approx(ref.pvalue) and c.ci_method == "paired t (the test inverted)"


def _random_group(rng, kind: str, n: int) -> np.ndarray:
    if kind == "binary":
        base = rng.random(n) < 0.5
        return np.vstack([base ^ (rng.random(n) < r) for r in (0.0, 0.05, 0.3)]).astype(float)
    if kind == "continuous":
        base = rng.uniform(0, 1, n)
        return np.clip(np.vstack([base, base + rng.normal(0.05, 0.1, n), rng.uniform(0, 1, n)]), 0, 1)
    base = rng.integers(0, 3, n) / 2  # F1-like: few distinct values, many ties
    return np.vstack([base, np.where(rng.random(n) < 0.1, 1.0, base), base])


@pytest.mark.parametrize("kind", ["binary", "continuous", "ties"])
@pytest.mark.parametrize("clustered", [False, True])
def test_every_star_agrees_with_its_interval(kind, clustered):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{clustered}".encode()))
    bad, total = 0, 0
    for n in (4, 8, 20, 60):
        for _ in range(15):
            x = _random_group(rng, kind, n)
            cl = np.arange(n) // 2 if clustered else None
            for c in _analyze(x, cl, iterations=500).comparisons:
                total += 1
                bad += not intervals.agrees(c.ci_low, c.ci_high, c.p_value, 0.05)
    assert bad == 0


@pytest.mark.parametrize("n", [1, 2, 3, 10])
@pytest.mark.parametrize("kind", ["binary", "continuous", "ties"])
@pytest.mark.parametrize("clustered", [False, True])
def test_bounded_metric_intervals_are_finite_and_in_range_at_any_n(n, kind, clustered):
    x = _random_group(np.random.default_rng(n), kind, n)
    res = _analyze(x, np.arange(n) // 2 if clustered else None, iterations=300)
    for s in res.summaries:
        assert np.isfinite([s.ci_low, s.ci_high]).all() and 0 <= s.ci_low <= s.ci_high <= 1
    for c in res.comparisons:
        assert np.isfinite([c.ci_low, c.ci_high]).all() and -1 <= c.ci_low <= c.ci_high <= 1
        assert c.p_value > 0


@pytest.mark.parametrize("g", [10, 30])
def test_inverted_cluster_sign_flip_interval_covers(g):
    """Clusters of 3 docs with a shared cluster effect (ICC ~0.3); true mean difference 0.1."""
    rng = np.random.default_rng(g)
    reps, size, hits = 800, 3, 0
    sizes = np.full(g, float(size))
    for _ in range(reps):
        d = 0.1 + np.repeat(rng.normal(0, 0.3, g), size) + rng.normal(0, 0.45, g * size)
        sums = d.reshape(g, size).sum(axis=1)[:, None]
        lo, hi = resample.sign_flip_interval(sums, sizes, 0.05, 1000, rng)
        hits += lo[0] <= 0.1 <= hi[0]
    print(f"\ninverted cluster sign-flip interval, G={g}: coverage {hits / reps:.3f} ({reps} reps)")
    assert hits / reps >= 0.93


@pytest.mark.parametrize("n", [30, 50])
def test_t_interval_covers_sparse_continuous_differences(n):
    """Differences non-zero on ~15 % of docs (F1-like): where the studentized bootstrap covered 0.86-0.91."""
    rng = np.random.default_rng(n)
    reps, p, hits = 3000, 0.15, 0
    true = p * 0.6 * (0.7 - 0.3)  # E|d| on a non-zero doc is 0.6; 70 % of those favour b
    for _ in range(reps):
        nz = rng.random(n) < p
        d = np.where(nz, rng.uniform(0.2, 1.0, n) * np.where(rng.random(n) < 0.7, 1, -1), 0.0)
        lo, hi = intervals.t_interval(d)
        hits += lo <= true <= hi
    print(f"\npaired t interval, n={n}, 15 % non-zero differences: coverage {hits / reps:.3f} ({reps} reps)")
    assert hits / reps >= 0.925


def test_aggregate_intervals_agree_with_their_permutation_test():
    """Perplexity (an aggregate): percentile bootstrap interval vs unit swap test, after reconcile."""
    import math

    from harness_ext.compare.aggregate import Aggregation

    agg = Aggregation("perplexity", "perplexity", lambda items: math.exp(-sum(items) / len(items)))
    rng = np.random.default_rng(0)
    bad = total = 0
    for n in (10, 30, 100):
        for _ in range(60):
            base = rng.normal(-2, 0.5, n)
            x = np.vstack([base, base + rng.normal(rng.choice([0, 0.1]), 0.3, n)])
            group = MetricGroup("t", "ll", "none", list(range(n)), x, None, False, aggregation=agg)
            setup = Setup(["a", "b"], [(0, 1)], 0.05, 0.05, 2000, False, [{}, {}])
            res = analysis.analyze(group, setup, rng)
            res.comparisons[:] = [
                replace(c, p_value=float(p), resampled=not res.perm.exact)
                for c, p in zip(res.comparisons, res.perm.pvalues())
            ]
            api.reconcile(res.comparisons, 0.05)
            total += 1
            bad += not intervals.agrees(
                res.comparisons[0].ci_low, res.comparisons[0].ci_high, res.comparisons[0].p_value, 0.05
            )
    assert total == 180 and bad == 0
