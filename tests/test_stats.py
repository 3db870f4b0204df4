"""Tests for harness_ext.compare.stats: exact values vs scipy, and seeded simulations
checking test size under the null and CI coverage.

Simulations are vectorized (shared resampling matrices) to keep this file fast.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats as sps

from harness_ext.compare import adjust, aggregate, intervals, power, resample, stats

pytestmark = pytest.mark.unit
ALPHA = 0.05


# --------------------------------------------------------------------------
# Exact values on hand-computed cases
# --------------------------------------------------------------------------


def test_mcnemar_matches_hand_computation_and_binomtest():
    # 16 pairs where only b is right, 4 where only a is right.
    p = stats.mcnemar_pvalues(16, 4)
    # 2 * P(X <= 4), X ~ Bin(20, 1/2) = 2 * (1+20+190+1140+4845) / 2^20
    assert p == pytest.approx(2 * 6196 / 2**20, rel=1e-12)
    assert p == pytest.approx(sps.binomtest(16, 20, 0.5).pvalue, rel=1e-12)
    assert stats.discordant_odds_ratio(16, 4) == pytest.approx(4.0)


def test_mcnemar_mid_p_hand_case():
    # 2 * (P(X <= 4) - P(X = 4) / 2) = (2*6196 - 4845) / 2^20
    assert stats.mcnemar_pvalues(16, 4, mid_p=True) == pytest.approx((2 * 6196 - 4845) / 2**20, rel=1e-12)
    assert stats.mcnemar_pvalues(5, 5, mid_p=True) == pytest.approx(1.0)
    assert stats.mcnemar_pvalues(0, 0) == 1.0


def test_mcnemar_is_symmetric_and_matches_binomtest_on_grid():
    n01, n10 = np.meshgrid(np.arange(0, 25), np.arange(0, 25))
    n01, n10 = n01.ravel(), n10.ravel()
    p = stats.mcnemar_pvalues(n01, n10)
    ref = [sps.binomtest(x, x + y).pvalue if x + y else 1.0 for x, y in zip(n01, n10)]
    assert p == pytest.approx(ref, rel=1e-9)
    assert p == pytest.approx(stats.mcnemar_pvalues(n10, n01), rel=1e-9)
    # mid-p: twice the tail with the observed outcome counted half
    k, nd = np.minimum(n01, n10), n01 + n10
    mid_ref = np.where(nd == 0, 1.0, np.minimum(1.0, 2 * sps.binom.cdf(k, nd, 0.5) - sps.binom.pmf(k, nd, 0.5)))
    assert stats.mcnemar_pvalues(n01, n10, mid_p=True) == pytest.approx(mid_ref, rel=1e-9)


def test_wilson_matches_scipy_and_hand_case():
    lo, hi = stats.wilson_interval(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    for k, n in [(0, 10), (1, 7), (50, 100), (99, 100), (1319, 1319), (3, 1319)]:
        ci = stats.wilson_interval(k, n)
        ref = sps.binomtest(k, n).proportion_ci(method="wilson")
        assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_holm_hand_case():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .02 .03 .06 .06
    assert adjust.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert adjust.adjust_pvalues(np.array([0.5, 0.9]), "holm") == pytest.approx([1.0, 1.0])


def test_bh_matches_scipy_false_discovery_control():
    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 190):
        p = np.concatenate([rng.uniform(size=m - m // 3), rng.uniform(0, 0.01, size=m // 3)])
        assert adjust.benjamini_hochberg(p) == pytest.approx(sps.false_discovery_control(p, method="bh"))


def test_adjust_family_sets_adjusted_p_and_stars_without_touching_the_rest():
    """The one adjuster `dq compare` and `dq study` share: new comparisons, the old ones as they were."""
    from harness_ext.compare.results import Comparison

    raw = [0.001, 0.04, 0.03, 0.5]
    family = [
        Comparison("t", "acc", "none", "a", f"b{k}", 10, 0.5, 0.6, 0.1, 0.0, 0.2, "z", p) for k, p in enumerate(raw)
    ]
    for correction in adjust.CORRECTIONS:
        out = adjust.adjust_family(family, correction, alpha=0.05)
        expected = adjust.adjust_pvalues(np.array(raw), correction)
        assert [c.p_adjusted for c in out] == pytest.approx(expected)
        assert [c.significant for c in out] == [bool(p < 0.05) for p in expected]
        assert [c.p_value for c in out] == raw and [c.b for c in out] == [c.b for c in family]
    assert all(np.isnan(c.p_adjusted) and not c.significant for c in family)


def test_adjustment_keeps_nan_and_rejects_unknown_method():
    out = adjust.holm(np.array([0.01, np.nan, 0.02]))
    assert np.isnan(out[1]) and out[0] == pytest.approx(0.02) and out[2] == pytest.approx(0.02)
    with pytest.raises(ValueError):
        adjust.adjust_pvalues(np.array([0.1]), "bonferroni")


def test_sign_flip_matches_exact_enumeration_and_scipy():
    d = np.array([0.9, -0.2, 0.5, 0.4, 1.1, -0.3, 0.7, 0.05, 0.6, -0.1])
    signs = np.array(list(itertools.product([-1, 1], repeat=len(d))))
    exact = np.mean(np.abs(signs @ d) >= abs(d.sum()) - 1e-12)
    ref = sps.permutation_test(
        (d,), np.mean, permutation_type="samples", n_resamples=np.inf, alternative="two-sided"
    ).pvalue
    assert ref == pytest.approx(exact)
    p = stats.sign_flip_pvalues(d[:, None], 40_000, np.random.default_rng(1))[0]
    assert p == pytest.approx(exact, abs=0.004)  # ~3 MC standard errors


def test_sign_flip_counts_ties_as_extreme():
    # Every flip of [1, 1] gives |sum| in {0, 2}; half of them tie the observed 2.
    p = stats.sign_flip_pvalues(np.array([[1.0], [1.0]]), 20_000, np.random.default_rng(0))[0]
    assert p == pytest.approx(0.5, abs=0.02)


def test_bootstrap_percentile_ci_agrees_with_scipy():
    x = np.random.default_rng(5).beta(2, 5, size=60)
    boot = stats.bootstrap_means(x, 20_000, np.random.default_rng(1))[:, 0]
    lo, hi = stats.percentile_ci(boot)
    ref = sps.bootstrap((x,), np.mean, n_resamples=20_000, method="percentile", random_state=2)
    ci = ref.confidence_interval
    assert (lo, hi) == pytest.approx((ci.low, ci.high), abs=0.004)
    m = stats.mean_ci(x, boot_means=boot)
    assert m.method == "bootstrap" and m.confidence_interval() == stats.ConfidenceInterval(lo, hi)


def test_shared_resamples_make_pair_differences_consistent():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2, size=(3, 200)).astype(float)
    boot = stats.bootstrap_means(values, 500, np.random.default_rng(9))
    assert boot.shape == (500, 3)
    # Identical runs must give identical bootstrap means (same resample indices).
    same = stats.bootstrap_means(np.vstack([values[0], values[0]]), 500, np.random.default_rng(9))
    assert np.array_equal(same[:, 0], same[:, 1])
    assert np.array_equal(same[:, 0], boot[:, 0])  # same seed -> same indices


def test_cohens_dz_and_clustered_se_hand_cases():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    assert stats.cohens_dz(d) == pytest.approx(2.5 / np.std(d, ddof=1))
    # residuals -1.5,-0.5 | 0.5,1.5 -> cluster sums -2, 2; CR1: 2/1 * 8 / 16 = 1
    se, g = stats.clustered_stderr(d, np.array(["p", "p", "q", "q"]))
    assert (se, g) == (pytest.approx(1.0), 2)
    assert np.isnan(stats.clustered_stderr(d, np.array(["p"] * 4))[0])


# --------------------------------------------------------------------------
# Simulations: size under the null
# --------------------------------------------------------------------------


def _paired_binary_null(sims: int, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    # Exchangeable pairs: a shared latent ability makes a and b correlated,
    # as two models on the same questions are, but neither is better.
    skill = rng.uniform(0.2, 0.9, size=(sims, n))
    a = rng.uniform(size=(sims, n)) < skill
    b = rng.uniform(size=(sims, n)) < skill
    return a, b


def test_mcnemar_size_under_null():
    rng = np.random.default_rng(11)
    a, b = _paired_binary_null(3000, 400, rng)
    n01, n10 = (~a & b).sum(1), (a & ~b).sum(1)
    # vectorized path (checked against binomtest above) keeps 3,000 sims fast
    p_exact = stats.mcnemar_pvalues(n01, n10)
    p_mid = stats.mcnemar_pvalues(n01, n10, mid_p=True)
    assert abs(np.mean(p_exact < ALPHA) - ALPHA) <= 0.02
    assert abs(np.mean(p_mid < ALPHA) - ALPHA) <= 0.02
    # the exact test is conservative, mid-p is not: a real, checkable ordering
    assert np.mean(p_exact < ALPHA) <= np.mean(p_mid < ALPHA)


def test_permutation_size_under_null_continuous_and_binary():
    rng = np.random.default_rng(12)
    sims, n = 2500, 40
    # Continuous F1-like scores with paired correlation and many ties at 0/1.
    base = rng.beta(2, 2, size=(sims, n))
    a = np.clip(base + rng.normal(0, 0.2, size=(sims, n)), 0, 1)
    b = np.clip(base + rng.normal(0, 0.2, size=(sims, n)), 0, 1)
    p = stats.sign_flip_pvalues((b - a).T, 2000, rng)
    assert abs(np.mean(p < ALPHA) - ALPHA) <= 0.02
    ab, bb = _paired_binary_null(sims, 200, rng)
    p_bin = stats.sign_flip_pvalues((bb.astype(float) - ab).T, 2000, rng)
    assert abs(np.mean(p_bin < ALPHA) - ALPHA) <= 0.02


def test_mcnemar_has_power_at_the_mdd():
    # At a true difference equal to the MDD the test should reject ~80 % of the time.
    rng = np.random.default_rng(13)
    n, discord = 1000, 0.2
    delta = power.mcnemar_mdd(n, discord, ALPHA).mdd  # the MDD dq compare reports
    probs = [discord / 2 + delta / 2, discord / 2 - delta / 2, 1 - discord]  # n01, n10, concordant
    counts = rng.multinomial(n, probs, size=2000)
    p = stats.mcnemar_pvalues(counts[:, 0], counts[:, 1])
    assert 0.75 <= np.mean(p < ALPHA) <= 0.85


# --------------------------------------------------------------------------
# Simulations: CI coverage
# --------------------------------------------------------------------------


def test_wilson_coverage():
    rng = np.random.default_rng(21)
    for p_true, n in [(0.3, 100), (0.75, 300)]:
        ks = rng.binomial(n, p_true, size=3000)
        cover = [lo <= p_true <= hi for lo, hi in (stats.wilson_interval(k, n) for k in ks)]
        assert 0.93 <= np.mean(cover) <= 0.97


def test_bootstrap_mean_coverage():
    rng = np.random.default_rng(22)
    a_, b_ = 2.0, 5.0  # Beta(2,5): skewed like per-doc F1
    x = rng.beta(a_, b_, size=(2000, 100))
    boot = stats.bootstrap_means(x, 2000, rng)  # (iters, sims): one matmul for all sims
    lo, hi = stats.percentile_ci(boot)
    true = a_ / (a_ + b_)
    assert 0.93 <= np.mean((lo <= true) & (true <= hi)) <= 0.97


def test_paired_difference_bootstrap_coverage():
    rng = np.random.default_rng(23)
    sims, n, shift = 2000, 150, 0.04
    skill = rng.uniform(0.2, 0.9, size=(sims, n))
    a = (rng.uniform(size=(sims, n)) < skill).astype(float)
    b = (rng.uniform(size=(sims, n)) < np.clip(skill + shift, 0, 1)).astype(float)
    true = np.mean(np.clip(skill + shift, 0, 1) - skill, axis=1)  # per-sim true diff given skills
    boot = stats.bootstrap_means(np.vstack([a, b]), 2000, rng)
    lo, hi = stats.percentile_ci(boot[:, sims:] - boot[:, :sims])
    assert 0.93 <= np.mean((lo <= true) & (true <= hi)) <= 0.97


def test_clustered_se_covers_where_iid_se_does_not():
    rng = np.random.default_rng(24)
    sims, g, size = 2000, 60, 5
    clusters = np.repeat(np.arange(g), size)
    # Strong passage effect: questions on one passage are easy or hard together.
    x = rng.normal(0, 1, size=(sims, g))[:, clusters] + rng.normal(0, 0.5, size=(sims, g * size))
    means = x.mean(1)
    cse = np.array([stats.clustered_stderr(row, clusters)[0] for row in x])
    iid = x.std(1, ddof=1) / np.sqrt(g * size)
    z = sps.norm.ppf(0.975)
    assert 0.93 <= np.mean(np.abs(means) <= z * cse) <= 0.97
    assert np.mean(np.abs(means) <= z * iid) < 0.85


# --------------------------------------------------------------------------
# Issue 12: clustered tests, Tango / studentized intervals, exact power, aggregations
# --------------------------------------------------------------------------


def _clustered_null(rng, sims: int, g: int, size: int, icc: float, binary: bool):
    """Paired null with intra-cluster correlation icc: each run has its own cluster effects,
    so differences within a passage are correlated but neither run is better."""
    shape = (sims, g * size)
    cl = np.repeat(np.arange(g), size)

    def latent():
        return np.sqrt(icc) * rng.normal(size=(sims, g))[:, cl] + np.sqrt(1 - icc) * rng.normal(size=shape)

    a, b = latent(), latent()
    if binary:
        a, b = (a > 0).astype(float), (b > 0).astype(float)
    return a, b, cl


@pytest.mark.parametrize("icc", [0.0, 0.05, 0.1, 0.2])
@pytest.mark.parametrize("binary", [True, False])
def test_cluster_sign_flip_size_under_clustered_null(icc, binary):
    rng = np.random.default_rng(int(icc * 100) + 7 * binary)
    sims, g, size = 1500, 40, 5
    a, b, cl = _clustered_null(rng, sims, g, size, icc, binary)
    units = resample.Units.of(g * size, cl)
    dsums = units.sums((b - a).T)  # (g, sims)
    perm = resample.PermutationTest("mean", a.sum(1)[:, None], b.sum(1)[:, None], dsums, float(g * size))
    perm.more(np.ones(sims, bool), 1000, rng)
    rate = np.mean(perm.pvalues() < ALPHA)
    assert 0.03 <= rate <= 0.07, rate


def test_doc_level_tests_fail_under_clustering():
    # The check that the simulation has teeth: ignoring clusters over-rejects at ICC 0.2.
    rng = np.random.default_rng(5)
    a, b, _ = _clustered_null(rng, 1500, 40, 5, 0.2, binary=False)
    p = np.array([intervals.paired_t(d)[1] for d in b - a])
    assert np.mean(p < ALPHA) > 0.1


@pytest.mark.parametrize("icc", [0.0, 0.1, 0.2])
def test_cluster_bootstrap_coverage(icc):
    rng = np.random.default_rng(31 + int(icc * 10))
    sims, g, size, shift = 1500, 40, 5, 0.3
    a, b, cl = _clustered_null(rng, sims, g, size, icc, binary=False)
    units = resample.Units.of(g * size, cl)
    lo, hi, _ = resample.studentized(units.sums((b + shift - a).T), units.sizes, 2000, rng, ALPHA)
    assert np.mean((lo <= shift) & (shift <= hi)) >= 0.94


def test_tango_reduces_to_mcnemar_and_matches_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar

    for n01, n10 in [(16, 4), (3, 0), (10, 9)]:
        z = intervals._tango_score(np.array(0.0), np.array(float(n01)), np.array(float(n10)), 100)
        chi2 = mcnemar([[50, n10], [n01, 50 - n01 - n10 + 50 - 50]], exact=False, correction=False).statistic
        assert float(z) ** 2 == pytest.approx(chi2)
        lo, hi = intervals.tango_interval(np.array([n01]), np.array([n10]), 100)
        # the limits are where the score test sits exactly at +-z
        for d, target in ((lo[0], 1.959964), (hi[0], -1.959964)):
            assert float(intervals._tango_score(np.array(d), np.array(float(n01)), np.array(float(n10)), 100)) == (
                pytest.approx(target, abs=1e-5)
            )


def test_tango_restricted_mle_is_the_likelihood_maximum():
    x01, x10, n, delta = 7.0, 3.0, 40, 0.05
    q = np.linspace(max(0, -delta) + 1e-6, (1 - delta) / 2 - 1e-6, 200_001)
    ll = x01 * np.log(q + delta) + x10 * np.log(q) + (n - x01 - x10) * np.log(1 - 2 * q - delta)
    b = x01 * (1 - delta) + x10 * (1 - 3 * delta) - 2 * delta * (n - x01 - x10)
    root = (b + np.sqrt(b * b + 8 * n * x10 * delta * (1 - delta))) / (4 * n)
    assert root == pytest.approx(q[np.argmax(ll)], abs=1e-5)


@pytest.mark.parametrize("n", [30, 40, 50])
def test_tango_coverage_small_n_and_sparse_discordance(n):
    rng = np.random.default_rng(n)
    # (both right, a only, b only, both wrong): sparse, one-sided, none, and moderate discordance
    for cells in [(0.6, 0.02, 0.02, 0.36), (0.5, 0.05, 0.0, 0.45), (0.7, 0.01, 0.04, 0.25), (0.4, 0.1, 0.1, 0.4)]:
        c = rng.multinomial(n, cells, size=4000)
        lo, hi = intervals.tango_interval(c[:, 2], c[:, 1], n)
        true = cells[2] - cells[1]
        assert np.mean((lo <= true + 1e-12) & (true <= hi + 1e-12)) >= 0.94, cells
        assert np.all(hi > lo)  # never the zero-width [0, 0]


@pytest.mark.parametrize("n", [30, 50])
def test_studentized_coverage_small_n(n):
    rng = np.random.default_rng(40 + n)
    sims = 2000
    base = rng.beta(2, 2, size=(sims, n))  # F1-like paired scores
    a = np.clip(base + rng.normal(0, 0.2, (sims, n)), 0, 1)
    b = np.clip(base + 0.05 + rng.normal(0, 0.2, (sims, n)), 0, 1)
    big = rng.beta(2, 2, size=1_000_000)
    true = np.mean(
        np.clip(big + 0.05 + rng.normal(0, 0.2, big.shape), 0, 1) - np.clip(big + rng.normal(0, 0.2, big.shape), 0, 1)
    )
    lo, hi, _ = resample.studentized((b - a).T, np.ones(n), 3000, rng, ALPHA)
    assert np.mean((lo <= true) & (true <= hi)) >= 0.94
    skew = rng.exponential(1.0, size=(sims, n)) - 1.0  # strongly skewed, mean 0
    lo, hi, _ = resample.studentized(skew.T, np.ones(n), 3000, rng, ALPHA)
    assert np.mean((lo <= 0) & (0 <= hi)) >= 0.94


def test_paired_t_and_cluster_se_match_scipy_and_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=50), rng.normal(size=50) + 0.3
    ref = sps.ttest_rel(b, a)
    assert intervals.paired_t(b - a) == pytest.approx((ref.statistic, ref.pvalue))
    cl = np.repeat(np.arange(10), 5)
    fit = sm.OLS(b - a, np.ones(50)).fit(cov_type="cluster", cov_kwds={"groups": cl})
    units = resample.Units.of(50, cl)
    assert resample.unit_se(units.sums(b - a), units.sizes)[0] == pytest.approx(fit.bse[0])


def test_exact_mcnemar_power_matches_simulation_and_small_n_is_blind():
    n, psi, delta, alpha = 60, 0.3, 0.15, 0.05
    rng = np.random.default_rng(8)
    c = rng.multinomial(n, [(psi + delta) / 2, (psi - delta) / 2, 1 - psi], size=40_000)
    sim = np.mean(stats.mcnemar_pvalues(c[:, 0], c[:, 1]) < alpha)
    assert power.mcnemar_power(n, psi, delta, alpha) == pytest.approx(sim, abs=0.01)
    # n = 5: the most extreme outcome gives p = 2 / 32 = 0.0625 > 0.05, nothing is detectable
    pw = power.mcnemar_mdd(5, 0.4, alpha)
    assert not pw.detectable and np.isnan(pw.mdd)
    assert power.mcnemar_mdd(6, 1.0, alpha).detectable  # 2 / 64 < 0.05
    # the MDD has 80 % power, a bit less does not
    pw = power.mcnemar_mdd(200, 0.2, alpha / 10)
    assert (
        power.mcnemar_power(200, 0.2, pw.mdd, alpha / 10)
        >= 0.8
        > power.mcnemar_power(200, 0.2, pw.mdd - 0.01, alpha / 10)
    )


def _bisected_mdd(n: int, psi: float, alpha: float, mid_p: bool) -> float:
    """The definition mcnemar_mdd must reproduce bit for bit: 30 plain bisection steps."""
    if power.mcnemar_power(n, psi, psi, alpha, mid_p) < power.POWER:
        return float("nan")
    lo, hi = 0.0, psi
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if power.mcnemar_power(n, psi, mid, alpha, mid_p) >= power.POWER else (mid, hi)
    return hi


@pytest.mark.parametrize("n", [8, 40, 300, 1319])
def test_exact_mdd_search_equals_plain_bisection(n):
    # The search skips evaluations the monotone power function already decides; it must land
    # on exactly the float the plain bisection gives, or reports would change with speed-ups.
    rng = np.random.default_rng(n)
    for nd in rng.choice(np.arange(1, n + 1), size=6, replace=False):
        for alpha, mid_p in ((0.05, False), (0.05 / 190, False), (0.01, True)):
            pw = power.mcnemar_mdd(n, nd / n, alpha, mid_p)
            if not pw.detectable:
                assert power.min_p_mcnemar(n, mid_p) >= alpha
                continue
            want = _bisected_mdd(n, nd / n, alpha, mid_p)
            assert pw.mdd == want or (np.isnan(pw.mdd) and np.isnan(want)), (n, nd, alpha, mid_p)


def test_adaptive_resampling_resolves_a_floored_p_value():
    # A huge clustered difference: 10,000 draws floor p at 1e-4, too coarse for Holm over 100 tests.
    rng = np.random.default_rng(0)
    d = rng.normal(1.0, 0.3, size=(40, 1))
    perm = resample.PermutationTest("mean", np.zeros((1, 1)), d.sum(0)[None, :], d, 40.0)
    perm.more(np.ones(1, bool), 10_000, rng)
    lo, hi = perm.bounds()
    assert hi[0] > ALPHA / 100  # unresolved at the Holm threshold...
    perm.more(np.ones(1, bool), 100_000, rng)
    assert perm.bounds()[1][0] < ALPHA / 100  # ...resolved with more draws


def test_vectorised_aggregations_match_lm_eval():
    from lm_eval.api import metrics as lm

    rng = np.random.default_rng(2)
    ll, w = -rng.uniform(0.1, 3, size=50), rng.integers(1, 20, size=50).astype(float)
    assert aggregate.apply("perplexity", np.array(ll.mean())) == pytest.approx(lm.perplexity(list(ll)))
    pairs = list(zip(ll, w))
    for kind, fn in (("weighted_perplexity", lm.weighted_perplexity), ("bits_per_byte", lm.bits_per_byte)):
        assert aggregate.apply(kind, np.array(ll.mean()), np.array(w.mean())) == pytest.approx(fn(pairs))
        agg = aggregate.resolve(kind if kind != "weighted_perplexity" else "word_perplexity", None)
        assert isinstance(agg, aggregate.Aggregation) and aggregate.lmeval_value(
            agg, np.column_stack([ll, w])
        ) == pytest.approx(fn(pairs))
    assert isinstance(aggregate.resolve("f1", None), str)  # lm-eval's default for f1 is corpus-level
    assert aggregate.resolve("f1", "mean").kind == "mean"  # ...unless the task config says mean


@pytest.mark.unit
def test_no_variation_never_gives_a_zero_width_interval():
    from harness_ext.compare import intervals

    lo, hi = intervals.no_variation_interval(5)
    assert lo < 0 < hi and hi - lo > 0.5  # 5 pairs that all agree say little
    lo30, hi30 = intervals.no_variation_interval(30)
    assert lo < lo30 < 0 < hi30 < hi  # more pairs, narrower
    assert intervals.constant(np.zeros((2, 4))).all() and not intervals.constant(np.array([[0, 0.5]])).any()
