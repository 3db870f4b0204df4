"""Rank intervals, win/tie/loss counts and the cost frontier (compare/ranks.py, frontier.py)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from harness_ext.compare import frontier, ranks

pytestmark = pytest.mark.unit


def _leaderboard(rng, acc: np.ndarray, n: int) -> np.ndarray:
    """Paired 0/1 scores: a doc is easy or hard for everyone (shared difficulty), mean acc[j]."""
    easy = rng.random(n) < 0.5
    p = np.clip(acc[:, None] + np.where(easy, 0.15, -0.15)[None, :], 0, 1)
    return (rng.random((len(acc), n)) < p).astype(float)


@pytest.mark.parametrize("acc", [[0.30, 0.34, 0.38, 0.42, 0.50, 0.52, 0.60, 0.75], [0.5, 0.51, 0.53, 0.56, 0.6]])
def test_rank_intervals_cover_the_true_ranks_jointly(acc):
    acc = np.array(acc)
    true = np.argsort(np.argsort(-acc)) + 1
    rng = np.random.default_rng(11)
    reps, n, hits, widths = 300, 300, 0, []
    labels = [f"m{j}" for j in range(len(acc))]
    for _ in range(reps):
        x = _leaderboard(rng, acc, n)
        draws = ranks.score_draws(x, 1000, rng)
        rows = {r.label: r for r in ranks.rank_entries(labels, x.mean(axis=1), draws)}
        ok = all(rows[lab].rank_low <= t <= rows[lab].rank_high for lab, t in zip(labels, true))
        hits += ok
        widths.append(np.mean([r.rank_high - r.rank_low for r in rows.values()]))
    print(
        f"\nrank intervals, K={len(acc)}: joint coverage {hits / reps:.3f}, mean width {np.mean(widths):.2f} ({reps} reps)"
    )
    assert hits / reps >= 0.93
    assert np.mean(widths) < len(acc) - 1  # informative, not the trivial 1..K


def test_identical_entries_tie_and_separated_ones_do_not():
    rng = np.random.default_rng(0)
    a = (rng.random(400) < 0.5).astype(float)
    x = np.vstack([a, a, np.zeros(400), np.ones(400)])
    rows = {
        r.label: r
        for r in ranks.rank_entries(["a", "a2", "zero", "one"], x.mean(axis=1), ranks.score_draws(x, 500, rng))
    }
    assert (rows["one"].rank_low, rows["one"].rank_high) == (1, 1) and rows["one"].tied_with_best
    assert (rows["a"].rank_low, rows["a"].rank_high) == (2, 3) == (rows["a2"].rank_low, rows["a2"].rank_high)
    assert (rows["zero"].rank_low, rows["zero"].rank_high) == (4, 4)
    low = ranks.rank_entries(
        ["a", "zero"], x[[0, 2]].mean(axis=1), ranks.score_draws(x[[0, 2]], 500, rng), higher_is_better=False
    )
    assert low[0].label == "zero" and low[0].confidence_interval() == (1, 1)


def test_clustered_draws_resample_whole_clusters():
    x = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    d = ranks.score_draws(x, 200, np.random.default_rng(1), clusters=np.array([0, 0, 1, 1]))
    assert set(np.round(d[:, 0], 6)) <= {0.0, 0.5, 1.0}  # two units: a draw holds 0, 1 or 2 of cluster 0


def test_win_tie_loss_counts_the_adjusted_family():
    comps = [
        SimpleNamespace(a="x", b="y", diff=0.2, significant=True),
        SimpleNamespace(a="x", b="z", diff=-0.1, significant=True),
        SimpleNamespace(a="y", b="z", diff=0.05, significant=False),
        SimpleNamespace(a="y", b="w", diff=0.5, significant=True),  # w not ranked: ignored
    ]
    rec = {r.label: (r.wins, r.ties, r.losses) for r in ranks.win_tie_loss(comps, ["x", "y", "z"])}
    assert rec == {"x": (1, 0, 1), "y": (1, 1, 0), "z": (0, 1, 1)}


def test_overall_mean_over_tasks_with_independent_draws():
    rng = np.random.default_rng(2)
    t1, t2 = _leaderboard(rng, np.array([0.3, 0.7]), 200), _leaderboard(rng, np.array([0.6, 0.4]), 300)
    rows = ranks.overall(
        ["a", "b"], [t1.mean(1), t2.mean(1)], [ranks.score_draws(t1, 500, rng), ranks.score_draws(t2, 500, rng)]
    )
    best = rows[0]
    assert best.label == "b" and best.score == pytest.approx((t1[1].mean() + t2[1].mean()) / 2)
    assert best.score_low < best.score < best.score_high


def test_pareto_frontier_hand_case():
    labels = ["cheap_bad", "cheap_good", "mid", "dear_best", "dear_worse", "unknown"]
    scores = np.array([0.2, 0.5, 0.5, 0.9, 0.4, 0.99])
    costs = [1.0, 1.0, 2.0, 5.0, 6.0, None]
    better = {("cheap_good", "cheap_bad"), ("dear_best", "dear_worse"), ("cheap_good", "dear_worse")}
    pts = {p.label: p for p in frontier.frontier(labels, scores, scores - 0.1, scores + 0.1, costs, better)}
    assert {k for k, p in pts.items() if p.pareto} == {"cheap_good", "dear_best"}
    assert pts["cheap_bad"].dominated_by == ("cheap_good",)
    assert set(pts["dear_worse"].dominated_by) == {"cheap_good", "dear_best"}
    assert pts["unknown"].cost is None and not pts["unknown"].pareto and pts["unknown"].per_cost() is None
    assert pts["dear_best"].per_cost(10.0) == pytest.approx((1.8, 1.6, 2.0))
    assert [p.label for p in frontier.frontier(labels, scores, scores, scores, costs)][-1] == "unknown"


def test_significant_pairs_follow_the_sign_and_direction():
    comps = [
        SimpleNamespace(a="x", b="y", diff=-0.2, significant=True),
        SimpleNamespace(a="x", b="z", diff=0.3, significant=False),
    ]
    assert frontier.significant_pairs(comps) == {("x", "y")}
    assert frontier.significant_pairs(comps, higher_is_better=False) == {("y", "x")}
