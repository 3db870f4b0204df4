"""Random-effects pooling (compare/meta.py): statsmodels cross-checks and simulations.

Simulations are vectorised where it is cheap and use fixed seeds; each runs in a few seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import optimize

from harness_ext.compare import intervals, meta
from harness_ext.compare.generalize import CellEffect, explained_by, verdict

pytestmark = pytest.mark.unit

Y = np.array([0.1, 0.3, 0.2, 0.5, -0.1])
V = np.array([0.01, 0.02, 0.015, 0.03, 0.02])


def _statsmodels(y, v):
    from statsmodels.stats.meta_analysis import combine_effects

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return combine_effects(y, v, method_re="chi2", use_t=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dl_matches_statsmodels_combine_effects(seed):
    rng = np.random.default_rng(seed)
    y, v = (Y, V) if seed == 0 else (rng.normal(0.1, 0.2, 8), rng.uniform(0.005, 0.05, 8))
    sm = _statsmodels(y, v)
    r = meta.random_effects(y, v, "DL", modified=False)
    assert r.statistic == pytest.approx(sm.mean_effect_re, rel=1e-10)
    assert r.tau2 == pytest.approx(sm.tau2, rel=1e-10, abs=1e-14)
    assert r.q == pytest.approx(sm.q, rel=1e-10)
    assert r.i2 == pytest.approx(max(0.0, sm.i2), rel=1e-10, abs=1e-12)
    assert r.stderr == pytest.approx(sm.sd_eff_w_re_hksj, rel=1e-10)
    lo, hi = sm.conf_int(use_t=True)[3]  # "random effect wls": the Hartung-Knapp interval
    assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi), rel=1e-9)


def test_modified_hk_never_narrower_than_the_model_interval():
    y = np.array([0.010, 0.011, 0.009, 0.010])  # cells agree far more than SEs 0.03 imply: Q << df
    v = np.full(4, 0.03**2)
    plain, mod = meta.random_effects(y, v, modified=False), meta.random_effects(y, v)
    assert plain.q < plain.df and plain.stderr < 0.2 * mod.stderr
    assert mod.stderr == pytest.approx(np.sqrt(0.03**2 / 4))


def test_reml_maximises_the_restricted_likelihood():
    rng = np.random.default_rng(3)
    y, v = rng.normal(0, 0.3, 10), rng.uniform(0.01, 0.05, 10)

    def neg_restricted_ll(t2: float) -> float:
        w = 1 / (v + t2)
        mu = (w * y).sum() / w.sum()
        return 0.5 * (np.sum(np.log(v + t2)) + np.log(w.sum()) + np.sum(w * (y - mu) ** 2))

    best = optimize.minimize_scalar(neg_restricted_ll, bounds=(0, 5), method="bounded", options={"xatol": 1e-12})
    assert meta.tau2_reml(y, np.diag(v)) == pytest.approx(best.x, rel=1e-5)


def test_full_covariance_reduces_to_the_diagonal_case_and_counts_shared_docs():
    r_diag, r_full = meta.random_effects(Y, V), meta.random_effects(Y, np.diag(V))
    assert r_diag == r_full
    rng = np.random.default_rng(4)
    base = rng.normal(0, 1, 200)
    diffs = [base + rng.normal(0, 0.1, 200), base + rng.normal(0, 0.1, 200), rng.normal(0, 1, 200)]
    cov = meta.cell_covariance(diffs, ["t1", "t1", "t2"], np.array([0.1, 0.1, 0.1]))
    assert cov[0, 1] == pytest.approx(0.01 * np.corrcoef(diffs[0], diffs[1])[0, 1]) and cov[0, 1] > 0.009
    assert cov[0, 2] == cov[1, 2] == 0.0


@pytest.mark.parametrize("k", [5, 10, 20])
def test_pooled_ci_coverage_with_few_cells(k):
    rng = np.random.default_rng(100 + k)
    reps, mu, hits = 1500, 0.05, 0
    for _ in range(reps):
        v = rng.uniform(0.0005, 0.004, k)
        y = mu + rng.normal(0, 0.03, k) + rng.normal(0, np.sqrt(v))
        r = meta.random_effects(y, v)
        hits += r.ci_low <= mu <= r.ci_high
    print(f"\npooled CI coverage, k={k}, tau=0.03: {hits / reps:.3f} ({reps} reps)")
    assert 0.93 <= hits / reps <= 0.995


def test_pooled_ci_coverage_when_cells_share_docs():
    """3 tasks x 2 solvers, paired 0/1 docs: cells on one task are correlated through the docs."""
    rng = np.random.default_rng(7)
    n, reps, true = 150, 1500, 0.06
    easy = np.repeat(rng.random((reps, 3, 1, n)) < 0.5, 2, axis=2)  # one doc set per task, both solvers
    p_ref = np.where(easy, 0.7, 0.2)
    ref = rng.random(p_ref.shape) < p_ref
    ent = rng.random(p_ref.shape) < p_ref + true
    d = (ent.astype(float) - ref).reshape(reps, 6, n)
    n01, n10 = np.sum(ent & ~ref, axis=-1).ravel(), np.sum(~ent & ref, axis=-1).ravel()
    lo, hi = intervals.tango_interval(n01, n10, n)
    se = ((hi - lo) / (2 * 1.959964)).reshape(reps, 6)
    tasks = ["t0", "t0", "t1", "t1", "t2", "t2"]
    hits = 0
    for r in range(reps):
        cov = meta.cell_covariance(list(d[r]), tasks, se[r])
        m = meta.random_effects(d[r].mean(axis=1), cov)
        hits += m.ci_low <= true <= m.ci_high
    print(f"\npooled CI coverage, 3 tasks x 2 solvers sharing docs: {hits / reps:.3f} ({reps} reps)")
    assert 0.93 <= hits / reps <= 0.999


@pytest.mark.parametrize("k", [5, 10, 20])
def test_cochran_q_type_one_error_under_a_homogeneous_effect(k):
    """Paired 0/1 cells with the same true Δ; each cell's SE read off its Tango interval."""
    rng = np.random.default_rng(200 + k)
    n, reps, delta = 150, 2000, 0.1
    p_ref = rng.uniform(0.2, 0.6, (reps, k))
    # one doc's pair: reference right w.p. p_ref, entry right w.p. p_ref + delta, independent
    ref = rng.random((reps, k, n)) < p_ref[..., None]
    ent = rng.random((reps, k, n)) < (p_ref + delta)[..., None]
    n01, n10 = np.sum(ent & ~ref, axis=2), np.sum(~ent & ref, axis=2)
    lo, hi = intervals.tango_interval(n01.ravel(), n10.ravel(), n)
    se = ((hi - lo) / (2 * 1.959964)).reshape(reps, k)
    y = (n01 - n10) / n
    rejects = sum(meta.random_effects(y[r], se[r] ** 2, "DL").q_pvalue < 0.05 for r in range(reps))
    print(f"\nCochran Q type-I at 0.05, k={k}, homogeneous: {rejects / reps:.3f} ({reps} reps)")
    assert 0.025 <= rejects / reps <= 0.075


def _cell(task, ctx, d, half=0.05):
    return CellEffect(task, ctx, "ref", "e", d, d - half, d + half, 0.5, 0.5, False, 100)


def test_verdicts_in_plain_words():
    up = [_cell("t1", "s1", 0.2), _cell("t2", "s1", 0.25), _cell("t1", "s2", 0.22)]
    cov = np.diag(np.full(3, (0.05 / 1.96) ** 2))
    assert verdict(up, meta.random_effects(np.array([c.statistic for c in up]), cov), "decomposer").startswith(
        "helps in every cell"
    )
    flat = [_cell("t1", "s1", 0.01), _cell("t2", "s1", -0.01), _cell("t1", "s2", 0.0)]
    m = meta.random_effects(np.array([c.statistic for c in flat]), cov)
    assert verdict(flat, m, "decomposer").startswith("no evidence of an effect; the pooled CI bounds it within ±")
    mixed = [_cell(f"t{t}", s, 0.3 if s == "s1" else 0.04) for t in range(4) for s in ("s1", "s2")]
    cov8 = np.diag(np.full(8, (0.05 / 1.96) ** 2))
    m = meta.random_effects(np.array([c.statistic for c in mixed]), cov8)
    where = explained_by(mixed, cov8, "decomposer")
    assert where == "the solver" and m.i2 > 0.9 and m.ci_low > 0
    assert verdict(mixed, m, "decomposer", where).startswith("helps on average but depends on the solver: I² ")
    every = [_cell(f"t{t}", s, 0.3 if s == "s1" else 0.1) for t in range(4) for s in ("s1", "s2")]
    m = meta.random_effects(np.array([c.statistic for c in every]), cov8)
    assert "helps in every cell (8/8" in verdict(every, m, "decomposer", "the solver")
    assert "how much depends on the solver" in verdict(every, m, "decomposer", "the solver")
