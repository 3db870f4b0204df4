"""Audit of the cross-cell statistics (meta.py, ranks.py, frontier.py, generalize.py): corner classes.

Each test pins a class of inputs an auditor probed: zero-variance cells, identical effects,
duplicated (perfectly correlated) cells, bounded metrics with few cells, lower-is-better
metrics, constant differences on few docs or clusters in the rank table, ties, unknown costs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from harness_ext.compare import frontier as fr
from harness_ext.compare import meta, ranks, stats
from harness_ext.compare.generalize import CellEffect, _cell, verdict

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- meta


def test_a_zero_variance_cell_weighs_the_most_not_nothing():
    """pinv gave a zero-variance cell zero weight: it vanished from mu_FE and Q. Now continuous at 0."""
    y = np.array([0.1, 0.3, 0.2])
    at_zero = meta.random_effects(y, np.array([0.0, 0.05**2, 0.05**2]))
    near_zero = meta.random_effects(y, np.array([1e-9, 0.05**2, 0.05**2]))
    assert at_zero.q > 10 and near_zero.q > 10  # cell 1 pins mu_FE at 0.1; the others sit 4 and 2 SEs off
    assert at_zero.statistic == pytest.approx(near_zero.statistic, abs=1e-4)
    assert at_zero.ci_low == pytest.approx(near_zero.ci_low, abs=1e-3)


@pytest.mark.parametrize("y", [[0.1, 0.1, 0.1], [0.1, 0.2, 0.1]])
def test_all_zero_variances_give_finite_results(y):
    m = meta.random_effects(np.array(y), np.zeros(3))
    assert np.isfinite([m.statistic, m.ci_low, m.ci_high, m.pvalue, m.q_pvalue, m.i2, m.tau2]).all()
    assert m.ci_low <= m.statistic <= m.ci_high
    if len(set(y)) > 1:  # cells that disagree with no sampling error: all the spread is tau^2
        assert m.tau2 > 0 and m.ci_low < 0.1 < 0.2 < m.ci_high


@pytest.mark.parametrize("bad", [np.array([0.01, -0.01, 0.01]), np.array([0.01, np.nan, 0.01])])
def test_an_impossible_covariance_is_refused(bad):
    with pytest.raises(ValueError):
        meta.random_effects(np.array([0.1, 0.2, 0.3]), bad)


@pytest.mark.parametrize("k", [2, 3, 7])
def test_identical_effects_have_no_heterogeneity_and_match_statsmodels(k):
    y, v = np.full(k, 0.12), np.linspace(0.01, 0.03, k) ** 2
    m = meta.random_effects(y, v, "DL")
    assert (m.tau2, m.q, m.i2, m.q_pvalue) == (0.0, pytest.approx(0.0, abs=1e-20), 0.0, pytest.approx(1.0))
    assert m.statistic == pytest.approx(0.12) and m.ci_low < 0.12 < m.ci_high  # plain HK: zero width here
    with np.errstate(all="ignore"):  # statsmodels itself returns tau2 < 0 and a NaN SE on this input
        ref = combine_effects(y, v, method_re="dl")
    assert m.statistic == pytest.approx(ref.mean_effect_fe, abs=1e-12) and m.q == pytest.approx(ref.q, abs=1e-10)
    if k == 2:  # HK on 1 df: t quantile 12.71
        assert m.ci_high - m.statistic == pytest.approx(12.7062047 * m.stderr)


def test_duplicated_cells_add_no_information():
    """Two cells with identical per-doc differences (rho 1): Q and the t quantile use rank(V) - 1 df."""
    se = 0.1
    v = np.array([[se**2, se**2, 0.0], [se**2, se**2, 0.0], [0.0, 0.0, se**2]])
    dup = meta.random_effects(np.array([0.1, 0.1, 0.3]), v)
    two = meta.random_effects(np.array([0.1, 0.3]), np.full(2, se**2))
    assert dup.df == two.df == 1
    assert dup.q == pytest.approx(two.q) and dup.q_pvalue == pytest.approx(two.q_pvalue)
    assert (dup.ci_low, dup.ci_high) == pytest.approx((two.ci_low, two.ci_high))


def test_the_pooled_interval_of_a_bounded_difference_stays_in_range():
    rng = np.random.default_rng(5)
    for _ in range(200):
        k = int(rng.integers(2, 5))
        y = np.clip(rng.normal(0.9, 0.1, k), -1, 1)
        m = meta.random_effects(y, rng.uniform(0.02, 0.2, k) ** 2, bounds=(-1.0, 1.0))
        assert -1 <= m.ci_low <= m.statistic <= m.ci_high <= 1


def _simulate(k: int, tau: float, reps: int, rng) -> tuple[float, float]:
    hits = rejections = 0
    for _ in range(reps):
        se = rng.uniform(0.01, 0.08, k)
        y = rng.normal(0, tau, k) + rng.normal(0, se)
        m = meta.random_effects(y, se**2)
        hits += m.ci_low <= 0 <= m.ci_high
        rejections += m.pvalue < 0.05
    return hits / reps, rejections / reps


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("tau", [0.0, 0.1])
def test_pooled_coverage_and_type_one_with_unequal_ses_and_few_cells(k, tau):
    """tau up to ~3x the cells' SEs, SEs differing 8-fold: HK (modified) keeps >= 0.93 coverage."""
    cover, type_one = _simulate(k, tau, 600, np.random.default_rng(100 * k + int(100 * tau)))
    print(f"k={k} tau={tau}: coverage {cover:.3f}, type-I {type_one:.3f}")
    assert cover >= 0.93 and type_one <= 0.07


# --------------------------------------------------------------------------- generalize


def _cells(deltas, half=0.05):
    return [
        CellEffect("t", f"s{i}", "ref", "e", d, d - half, d + half, 0.01, 0.01, True, 100) for i, d in enumerate(deltas)
    ]


def test_a_lower_is_better_metric_reads_a_negative_delta_as_helping():
    cells = _cells([-0.2, -0.25, -0.22])
    m = meta.random_effects(np.array([c.statistic for c in cells]), np.full(3, (0.05 / 1.96) ** 2))
    assert verdict(cells, m, "decomposer").startswith("hurts in every cell")
    assert verdict(cells, m, "decomposer", higher_is_better=False).startswith("helps in every cell")
    one = verdict(cells[:1], None, "decomposer", higher_is_better=False)
    assert one.startswith("one cell only: helps")


def test_a_pooled_interval_as_wide_as_the_range_is_not_called_a_bound():
    cells = _cells([0.0, 0.0], half=0.43)
    m = meta.random_effects(np.zeros(2), np.full(2, (0.43 / 1.96) ** 2), bounds=(-1.0, 1.0))
    said = verdict(cells, m, "decomposer", span=1.0)
    assert "too little data to bound it" in said and "±" not in said.split(";")[0]
    flat = _cells([0.0, 0.01, -0.01] * 3, half=0.02)
    mf = meta.random_effects(np.array([c.statistic for c in flat]), np.full(9, (0.02 / 1.96) ** 2))
    assert "bounds it within ±0.0" in verdict(flat, mf, "decomposer", span=1.0)


def test_a_flipped_zero_difference_is_plus_zero():
    class Comp:  # the fields of a Comparison that _cell reads
        a, b, diff, ci_low, ci_high = "e", "ref", 0.0, -0.4, 0.4
        p_value = p_adjusted = 1.0
        significant, n = False, 5

    cell = _cell(Comp(), "t", "s", "ref", "e", False)
    assert math.copysign(1, cell.statistic) == 1 and f"{cell.statistic:+.3f}" == "+0.000"


def test_dq_compare_pools_two_accuracy_cells_within_the_range(tmp_path):
    """The committed 5-doc gsm8k cells: two cells on 1 df gave a pooled CI of ±1.99, 'bounding' Δ by it."""
    from harness_ext.compare.cli import main

    cells = sorted(str(p) for p in (REPO / "results/paper_grid_small/cells").glob("gsm8k_dq__*"))
    assert main([*cells, "--by", "decomposer", "--reference", "none", "--out", str(tmp_path / "out")]) == 0
    sec = json.loads((tmp_path / "out" / "sections.json").read_text())
    assert sec["generalization"]
    for g in sec["generalization"]:
        p = g["pooled"]
        assert -1 <= p["ci_low"] <= p["statistic"] <= p["ci_high"] <= 1
        assert "bounds it within ±1" not in g["verdict"] and "±2" not in g["verdict"]
        assert all(not f"{c['statistic']:+.3f}".startswith("-0.000") for c in g["cells"])


# --------------------------------------------------------------------------- ranks


def _ranked(values, clusters=None, higher_is_better=True, seed=0):
    values = np.asarray(values, float)
    rows, _, _ = ranks.rank_task(
        [f"e{i}" for i in range(len(values))],
        values,
        1000,
        np.random.default_rng(seed),
        clusters,
        0.05,
        higher_is_better,
    )
    return {r.label: r for r in rows}


@pytest.mark.parametrize("n", [1, 3, 5])
def test_a_constant_difference_on_few_docs_does_not_separate(n):
    """A right on every doc, B wrong on every doc: McNemar's p is 2/2^n, so n <= 5 proves nothing."""
    r = _ranked([[1.0] * n, [0.0] * n])
    assert (r["e0"].rank_low, r["e0"].rank_high) == (1, 2) and r["e1"].tied_with_best


def test_a_constant_difference_on_enough_docs_separates():
    r = _ranked([[1.0] * 8, [0.0] * 8])
    assert (r["e0"].rank_low, r["e0"].rank_high, r["e1"].rank_low) == (1, 1, 2) and not r["e1"].tied_with_best


def test_two_clusters_cannot_separate_however_many_docs():
    r = _ranked([[1.0] * 40, [0.0] * 40], clusters=np.repeat([0, 1], 20))
    assert r["e1"].tied_with_best


def test_separated_pairs_are_pairs_the_exact_paired_test_could_call_significant():
    """On small random leaderboards the bootstrap separated pairs whose exact McNemar p >= 0.25."""
    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(2, 12))
        x = (rng.random((4, n)) < rng.uniform(0, 1, (4, 1))).astype(float)
        rows, _, _ = ranks.rank_task(list("abcd"), x, 500, rng)
        by = {r.label: r for r in rows}
        for i, a in enumerate("abcd"):
            for j, b in enumerate("abcd"):
                if by[a].rank_high < by[b].rank_low:  # a surely above b
                    # the exact McNemar dq compare itself calls (pair_tests.mcnemar -> stats.mcnemar_pvalues)
                    n01 = int(((x[i] > 0.5) & (x[j] < 0.5)).sum())
                    n10 = int(((x[j] > 0.5) & (x[i] < 0.5)).sum())
                    assert float(stats.mcnemar_pvalues(n01, n10)) <= 0.05
    with_cl = ranks.pair_pvalues(np.array([[1.0] * 40, [0.0] * 40]), 2000, rng, np.repeat(np.arange(4), 10))
    assert with_cl[0, 1] >= 2 / 2**4  # 4 clusters: the exact floor 1/8


def test_tied_entries_share_their_interval_and_all_equal_entries_are_all_tied():
    same = _ranked([[1, 0, 1, 1]] * 3)
    assert {(r.rank_low, r.rank_high, r.tied_with_best) for r in same.values()} == {(1, 3, True)}
    two = _ranked([[1, 0, 1, 1], [1, 1, 0, 1], [0, 0, 0, 0]])  # 4 docs: nothing separates
    assert {(r.rank_low, r.rank_high) for r in two.values()} == {(1, 3)}
    one = _ranked([[1, 0, 1]])
    assert (one["e0"].statistic, one["e0"].rank_low, one["e0"].rank_high) == (1, 1, 1)


def test_lower_is_better_ranks_the_smallest_first():
    r = _ranked([[0.0] * 10, [1.0] * 10], higher_is_better=False)
    assert (r["e0"].statistic, r["e0"].rank_high, r["e1"].rank_low) == (1, 1, 2)


def test_overall_ranks_add_up_the_differing_units_of_all_tasks():
    """5 docs per task can not separate; 3 tasks of 5 (15 independent docs) can."""
    tasks = [np.array([[1.0] * 5, [0.0] * 5]) for _ in range(3)]
    rng = np.random.default_rng(0)
    draws = [ranks.score_draws(v, 500, rng) for v in tasks]
    scores = [v.mean(axis=1) for v in tasks]
    one = ranks.overall(["a", "b"], scores[:1], draws[:1], per_task_differing=[ranks.differing_units(tasks[0])])
    assert one[1].tied_with_best
    every = ranks.overall(["a", "b"], scores, draws, per_task_differing=[ranks.differing_units(v) for v in tasks])
    assert not every[1].tied_with_best


def test_rank_intervals_cover_jointly_under_clustered_docs():
    """Docs in clusters of 5 sharing a difficulty: the cluster bootstrap keeps joint coverage."""
    rng = np.random.default_rng(3)
    acc = np.array([0.55, 0.6, 0.7, 0.72])
    truth = 1 + (acc[None, :] > acc[:, None]).sum(axis=1)
    g, size, hits, reps = 40, 5, 0, 150
    clusters = np.repeat(np.arange(g), size)
    for _ in range(reps):
        shift = np.repeat(rng.normal(0, 0.15, g), size)
        x = (rng.random((4, g * size)) < np.clip(acc[:, None] + shift, 0, 1)).astype(float)
        rows, _, _ = ranks.rank_task(list("abcd"), x, 400, rng, clusters)
        by = {r.label: r for r in rows}
        hits += all(by[lab].rank_low <= truth[i] <= by[lab].rank_high for i, lab in enumerate("abcd"))
    print(f"joint coverage {hits / reps:.3f}")
    assert hits / reps >= 0.9


# --------------------------------------------------------------------------- frontier


def test_an_unknown_cost_written_as_nan_is_unknown():
    s = np.array([0.5, 0.6, 0.6, 0.4])
    pts = {p.label: p for p in fr.frontier(list("abcd"), s, s - 0.1, s + 0.1, [10, float("nan"), 20, 5])}
    assert pts["b"].cost is None and not pts["b"].pareto and pts["b"].per_cost() is None
    assert pts["c"].pareto  # nothing known is cheaper and as good
    with pytest.raises(ValueError):
        fr.frontier(["a"], s[:1], s[:1], s[:1], [-1.0])


def test_equal_costs_and_scores_are_all_pareto_and_zero_cost_has_no_rate():
    s = np.array([0.5, 0.5])
    pts = fr.frontier(["a", "b"], s, s - 0.1, s + 0.1, [0.0, 0.0])
    assert all(p.pareto for p in pts) and all(p.per_cost() is None for p in pts)


def test_a_cell_without_the_reference_is_reported_not_silently_dropped():
    from harness_ext.compare.generalize import Config, cells_for

    configs = [Config("d/s1", "d", "s1"), Config("ref/s1", "ref", "s1"), Config("d/s2", "d", "s2")]

    class Comp:
        a, b, diff, ci_low, ci_high = "ref/s1", "d/s1", 0.1, 0.0, 0.2
        p_value = p_adjusted = 0.04
        significant, n = True, 50

    cells, notes = cells_for(
        "d", "ref", "decomposer", configs, {("t", frozenset(("ref/s1", "d/s1"))): Comp()}, ["t"], {}
    )
    assert [c.context for c in cells] == ["s1"]
    assert notes == ["t: d/s2 has no ref run with solver s2 to compare with; left out"]
