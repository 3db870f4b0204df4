"""Statistics for one (task, metric, filter) group: run values with CIs, and every pair's test.

Method by case (see README "dq compare" for references):
- 0/1 metric, no clusters: Wilson CI per run; Tango score CI for the paired difference;
  exact (or mid-p) McNemar test; exact McNemar power.
- mean of a continuous metric, no clusters: studentized bootstrap CIs per run; paired t-test and
  the t interval it inverts (so a star and its interval agree), with a Monte-Carlo sign-flip
  test as a check; every paired difference the same non-zero value: a worst-case score test and
  interval (intervals.same_difference), p never below the exact floor 2 / 2^n.
- a [0, 1] metric: every interval is clipped to the metric's range (finite at any n).
- any mean metric whose docs carry cluster_id: studentized cluster bootstrap CIs per run; cluster
  sign-flip test (exact up to 16 clusters, else Monte-Carlo, resolved adaptively) and the
  interval that inverts it, with the cluster-robust t-test as a check.
- other lm-eval aggregations (perplexity...): paired percentile bootstrap of the aggregate
  (units resampled jointly for all runs) and a unit swap permutation test of the aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

import numpy as np

from harness_ext.compare import aggregate, intervals, pair_tests, power, resample, stats
from harness_ext.compare.results import Comparison, PairedTest, RunSummary
from harness_ext.compare.runs import MetricGroup
from harness_ext.compare.setup import Setup

R = TypeVar("R", RunSummary, PairedTest)


@dataclass
class GroupResult:
    summaries: list[RunSummary]
    comparisons: list[Comparison]
    perm: resample.PermutationTest | None = None  # Monte-Carlo tests to resolve adaptively


def analyze(group: MetricGroup, setup: Setup, rng: np.random.Generator) -> GroupResult:
    units = resample.Units.of(group.values.shape[1], group.clusters)
    if group.aggregation.kind != "mean":
        return _aggregate_group(group, setup, units, rng)
    return _mean_group(group, setup, units, rng)


def _comparison(
    group: MetricGroup, setup: Setup, pair: tuple[int, int], values: np.ndarray, t: PairedTest, **paired: Any
) -> Comparison:
    """The comparison of one pair, built once from its test (``paired``: diff, cohens_d, diff_stderr)."""
    a, b = pair
    trunc = [r.get(group.task) for r in setup.truncation]
    return Comparison(
        task=group.task,
        metric=group.metric,
        filter=group.filter,
        a=setup.names[a],
        b=setup.names[b],
        n=group.values.shape[1],
        mean_a=float(values[a]),
        mean_b=float(values[b]),
        diff=paired.pop("diff", float(values[b] - values[a])),
        ci_low=t.ci_low,
        ci_high=t.ci_high,
        test=t.test,
        p_value=t.pvalue,
        test_statistic=t.statistic,
        test_statistic_name=t.statistic_name,
        ci_method=t.ci_method,
        confidence=1 - setup.alpha,
        aggregation=group.aggregation.name,
        p_check=t.p_check,
        check_test=t.check_test,
        effect_size=t.effect_size,
        effect_size_name=t.effect_size_name,
        n01=t.n01,
        n10=t.n10,
        n_clusters=t.n_clusters,
        diff_clustered_stderr=t.diff_clustered_stderr,
        min_p=t.min_p,
        mdd=t.mdd,
        power_alpha=setup.power_alpha,
        detectable=t.detectable,
        truncated_rate_a=trunc[a],
        truncated_rate_b=trunc[b],
        **paired,
    )


def _summary(group: MetricGroup, setup: Setup, r: int, value: float, lo, hi, method: str, se, cse, g):
    return RunSummary(
        setup.names[r],
        group.task,
        group.metric,
        group.filter,
        group.values.shape[1],
        float(value),
        float(lo),
        float(hi),
        method,
        float(se),
        None if cse is None else float(cse),
        g,
        aggregation=group.aggregation.name,
        confidence=1 - setup.alpha,
        truncated_rate=setup.truncation[r].get(group.task),
    )


def _mean_group(group: MetricGroup, setup: Setup, units: resample.Units, rng) -> GroupResult:
    x, n, alpha = group.values, group.values.shape[1], setup.alpha
    ia, ib = np.array([p[0] for p in setup.pairs]), np.array([p[1] for p in setup.pairs])
    sums = units.sums(x.T)
    g = units.count if units.clustered else None
    se_iid = x.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.full(len(x), np.nan)
    cse = resample.unit_se(sums, units.sizes) if units.clustered else [None] * len(x)
    if group.binary and not units.clustered:
        cis = [stats.wilson_interval(int(v.sum()), n, alpha) for v in x]
        lo, hi, method = np.array([c.low for c in cis]), np.array([c.high for c in cis]), "wilson"
    else:
        lo, hi, method = resample.studentized(sums, units.sizes, setup.iterations, rng, alpha)
        method += " (clusters)" if units.clustered else ""
    means = x.mean(axis=1)
    methods = [method] * len(x)
    if not (group.binary and not units.clustered) and intervals.in_unit_range(x):
        for r in np.flatnonzero(intervals.constant(x)):  # no variation to resample: Wilson's bound
            ci = stats.wilson_interval(float(means[r]) * n, n, alpha)  # (Bernoulli varies most)
            lo[r], hi[r], methods[r] = ci.low, ci.high, f"wilson, {intervals.NO_VARIATION}"
    summaries = [
        _summary(group, setup, r, means[r], lo[r], hi[r], methods[r], se_iid[r], cse[r], g) for r in range(len(x))
    ]
    d = x[ib] - x[ia]
    dsums = units.sums(d.T)
    diff = [float(d[k].mean()) for k in range(len(d))]
    cohens = [stats.cohens_dz(d[k]) for k in range(len(d))]
    dse = [float(d[k].std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan") for k in range(len(d))]
    perm = None
    if group.binary and not units.clustered:
        tests = pair_tests.mcnemar(x[ia], x[ib], setup)
    elif not units.clustered:
        tests = pair_tests.paired_t(d, dse, cohens, setup, rng, intervals.metric_span(x))
    else:
        tests, perm = pair_tests.clustered(
            diff, cohens, sums, dsums, ia, ib, units, setup, rng, intervals.metric_span(x)
        )
    if not (group.binary and not units.clustered) and intervals.in_unit_range(x):
        # no paired variation: the bootstrap's [0, 0] says nothing; units: docs, or clusters
        for j in map(int, np.flatnonzero(intervals.constant(d) & (d[:, 0] == 0))):
            lo_j, hi_j = intervals.no_variation_interval(units.count if units.clustered else n, alpha)
            tests[j] = replace(tests[j], ci_low=lo_j, ci_high=hi_j, ci_method=f"tango score, {intervals.NO_VARIATION}")
    if intervals.in_unit_range(x):  # a [0, 1] metric: every interval finite and inside the range
        one = units.clustered and units.count < 2  # one cluster: nothing to resample, only the range
        summaries = _clip(summaries, 0.0, 1.0, one)
        tests = _clip(tests, -1.0, 1.0, one)
    comps = [
        _comparison(group, setup, pair, means, t, diff=diff[k], cohens_d=cohens[k], diff_stderr=dse[k])
        for k, (pair, t) in enumerate(zip(setup.pairs, tests))
    ]
    return GroupResult(summaries, comps, perm)


def _clip(results: list[R], low: float, high: float, whole: bool = False) -> list[R]:
    out = []
    for r in results:
        lo, hi = (low, high) if whole else intervals.clip_to_range(np.array(r.ci_low), np.array(r.ci_high), low, high)
        out.append(replace(r, ci_low=float(lo), ci_high=float(hi)))
    return out


def _aggregate_group(group: MetricGroup, setup: Setup, units: resample.Units, rng) -> GroupResult:
    agg, x, alpha = group.aggregation, group.values, setup.alpha
    ia, ib = np.array([p[0] for p in setup.pairs]), np.array([p[1] for p in setup.pairs])
    comp = [x] if x.ndim == 2 else [x[..., 0], x[..., 1]]
    sums = [units.sums(v.T) for v in comp]  # per component: (G, runs)
    runs = x.shape[0]
    draws = resample.boot_means(np.hstack(sums), units.sizes, setup.iterations, rng)
    parts = [draws[:, i * runs : (i + 1) * runs] for i in range(len(comp))]
    boot = aggregate.apply(agg.kind, parts[0], parts[1] if len(parts) == 2 else None)  # (B, runs)
    values = np.array([aggregate.lmeval_value(agg, x[r]) for r in range(runs)])
    lo, hi = stats.percentile_ci(boot, alpha)
    g = units.count if units.clustered else None
    method = "percentile bootstrap" + (" (clusters)" if units.clustered else "")
    se = boot.std(axis=0, ddof=1)
    summaries = [_summary(group, setup, r, values[r], lo[r], hi[r], method, se[r], None, g) for r in range(runs)]
    bd = boot[:, ib] - boot[:, ia]
    dlo, dhi = stats.percentile_ci(bd, alpha)
    totals = np.stack([s.sum(axis=0) for s in sums], axis=-1)  # (runs, c)
    diffs = np.stack([s[:, ib] - s[:, ia] for s in sums], axis=-1).reshape(units.count, -1)
    perm = resample.PermutationTest(agg.kind, totals[ia], totals[ib], diffs, units.sizes.sum())
    perm.more(np.ones(len(ia), bool), setup.iterations, rng)
    unit = "cluster" if units.clustered else "doc"
    min_p = 2.0 / 2**units.count if units.count < 1000 else 0.0
    comps = []
    for k, pair in enumerate(setup.pairs):
        diff_se = float(bd[:, k].std(ddof=1))
        pw = power.t_mdd(diff_se, units.count - 1, setup.power_alpha, min_p)
        t = PairedTest(
            test=f"{unit} swap permutation of {agg.name} ({'exact' if perm.exact else 'Monte-Carlo'})",
            pvalue=float("nan"),  # the permutation test's, once resolved (api._adjust)
            ci_low=float(dlo[k]),
            ci_high=float(dhi[k]),
            ci_method=method,
            statistic=float(values[pair[1]] - values[pair[0]]),
            statistic_name=f"difference of {agg.name}",
            min_p=min_p,
            mdd=pw.mdd,
            detectable=pw.detectable,
            n_clusters=g,
        )
        comps.append(_comparison(group, setup, pair, values, t, diff_stderr=diff_se))
    return GroupResult(summaries, comps, perm)
