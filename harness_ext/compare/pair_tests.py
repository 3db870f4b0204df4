"""The test of every pair in one mean-metric group, as frozen `PairedTest` results.

- 0/1 metric, no clusters: exact (or mid-p) McNemar, Tango score interval, exact McNemar power.
- continuous, no clusters: paired t and the t interval it inverts (a constant difference: the
  worst-case score test), a sign-flip permutation test as a check.
- docs with cluster_id: the cluster sign-flip test (its p-values are resolved adaptively by
  api._adjust) and the interval inverting it, the cluster-robust t as a check.
"""

from __future__ import annotations

import numpy as np

from harness_ext.compare import intervals, power, resample, stats
from harness_ext.compare.results import PairedTest
from harness_ext.compare.setup import Setup


def mcnemar(a: np.ndarray, b: np.ndarray, setup: Setup) -> list[PairedTest]:
    a, b = a > 0.5, b > 0.5
    n = a.shape[1]
    n01, n10 = np.sum(~a & b, axis=1), np.sum(a & ~b, axis=1)
    p = stats.mcnemar_pvalues(n01, n10, setup.mid_p)
    lo, hi = intervals.tango_interval(n01, n10, n, setup.alpha)
    out = []
    for k in range(len(n01)):
        k01, k10 = int(n01[k]), int(n10[k])
        nd = k01 + k10
        pw = power.mcnemar_mdd(n, nd / n, setup.power_alpha, setup.mid_p)
        out.append(
            PairedTest(
                test="mcnemar (mid-p)" if setup.mid_p else "mcnemar (exact)",
                pvalue=float(p[k]),
                ci_low=float(lo[k]),
                ci_high=float(hi[k]),
                ci_method="tango score",
                statistic=k01 / nd if nd else float("nan"),
                statistic_name="share of discordant pairs won by b",
                effect_size=stats.discordant_odds_ratio(k01, k10),
                effect_size_name="discordant odds ratio (n01/n10)",
                min_p=power.min_p_mcnemar(nd, setup.mid_p),
                mdd=pw.mdd,
                detectable=pw.detectable,
                n01=k01,
                n10=k10,
            )
        )
    return out


def paired_t(d, dse: list[float], cohens: list[float], setup: Setup, rng, span: float) -> list[PairedTest]:
    """Paired t-test and the t interval it inverts; a constant difference gets a worst-case score."""
    p_flip = stats.sign_flip_pvalues(d.T, setup.iterations, rng)
    n = d.shape[1]
    min_p = 2.0 / 2 ** min(n, 1000)  # the exact sign-flip floor: no paired test on n docs goes below
    out = []
    for k in range(len(d)):
        statistic, p = intervals.paired_t(d[k])
        lo, hi = intervals.t_interval(d[k], setup.alpha)
        test, name, method = "paired t", "t", "paired t (the test inverted)"
        if intervals.nearly_constant(d[k]) and abs(d[k].mean()) > 1e-9 * span and span > 0:
            lo, hi, p = intervals.same_difference(float(d[k].mean()), n, span, setup.alpha)
            test = method = intervals.SAME_DIFFERENCE
            name = "mean difference"
        pw = power.t_mdd(dse[k], n - 1, setup.power_alpha, min_p)
        out.append(
            PairedTest(
                test=test,
                pvalue=p,
                ci_low=lo,
                ci_high=hi,
                ci_method=method,
                statistic=statistic,
                statistic_name=name,
                p_check=float(p_flip[k]),
                check_test=f"sign-flip permutation ({setup.iterations} draws)",
                effect_size=cohens[k],
                effect_size_name="cohen's d (paired)",
                min_p=min_p,
                mdd=pw.mdd,
                detectable=pw.detectable,
            )
        )
    return out


def clustered(
    diff: list[float], cohens: list[float], sums, dsums, ia, ib, units, setup: Setup, rng, span: float
) -> tuple[list[PairedTest], resample.PermutationTest]:
    """Cluster sign-flip test and its inverted interval; a constant per-cluster difference gets the
    worst-case score over G clusters (its p set here, so api._adjust keeps it)."""
    g = units.count
    lo, hi = resample.sign_flip_interval(dsums, units.sizes, setup.alpha, setup.iterations, rng)
    totals = sums.sum(axis=0)
    perm = resample.PermutationTest("mean", totals[ia][:, None], totals[ib][:, None], dsums, units.sizes.sum())
    perm.more(np.ones(len(ia), bool), setup.iterations, rng)
    cse = resample.unit_se(dsums, units.sizes)
    min_p = 2.0 / 2**g if g < 1000 else 0.0
    out = []
    for k in range(len(ia)):
        pw = power.t_mdd(float(cse[k]), g - 1, setup.power_alpha, min_p)
        test = "cluster sign-flip (exact)" if perm.exact else "cluster sign-flip (Monte-Carlo)"
        method = "cluster sign-flip (the test inverted)"
        p, lo_k, hi_k = float("nan"), float(lo[k]), float(hi[k])  # nan: the permutation test's (api._adjust)
        per_cluster = dsums[:, k] / units.sizes
        # Every cluster shifted by the same c: no sign pattern moves the statistic, so the inverted
        # sign-flip interval collapses onto c; as for docs, the worst case over G units bounds it.
        if intervals.nearly_constant(per_cluster) and abs(diff[k]) > 1e-9 * span and span > 0:
            lo_k, hi_k, p = intervals.same_difference(diff[k], g, span, setup.alpha)
            p = max(p, min_p)
            test = method = f"{intervals.SAME_DIFFERENCE}, over {g} clusters"
        out.append(
            PairedTest(
                test=test,
                pvalue=p,
                ci_low=lo_k,
                ci_high=hi_k,
                ci_method=method,
                statistic=diff[k],
                statistic_name="mean difference",
                p_check=intervals.cluster_t(np.asarray(diff[k]), dsums[:, k], units.sizes)[1],
                check_test="cluster-robust t (CR1, G-1 df)",
                effect_size=cohens[k],
                effect_size_name="cohen's d (paired)",
                min_p=min_p,
                mdd=pw.mdd,
                detectable=pw.detectable,
                n_clusters=g,
                diff_clustered_stderr=float(cse[k]),
            )
        )
    return out, perm
