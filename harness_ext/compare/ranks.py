"""Ranks with uncertainty: simultaneous rank intervals from one paired bootstrap of all entries.

Per task, every entry is scored on the same docs. One bootstrap resamples docs (clusters when
the docs carry them) jointly for all entries (resample.boot_means: one count matrix), so each
draw ranks the whole leaderboard. Rank intervals follow Klein, Wright & Wieczorek (2020, "A
joint confidence region for an overall ranking of populations", JRSS-C 69:589): simultaneous
(1 - alpha) intervals for every pairwise difference (max-|t| over pairs, the differences'
bootstrap SDs as scale), then entry j's rank lies in [1 + #{surely better}, K - #{surely
worse}]. All K intervals hold at once with probability >= 1 - alpha (asymptotically), so
"tied with the best" (interval includes rank 1) is a statement about the whole table. Marginal
percentile intervals of bootstrap ranks were not used: they undercover when gaps are small
(Hall & Miller 2009).

A bootstrap cannot tell a pair that differs on 3 docs from one that differs on 300 when the
difference has the same sign on every doc: neither resample moves it, and n = 1 doc "separated"
two entries. So a pair is separated only where its exact paired sign-flip test could reject:
with m resampling units (docs or clusters) on which the two differ, its p-value is at least
2 / 2^m (the floor of the report's own McNemar / sign-flip test), so 2 / 2^m must be <= alpha;
a pair whose difference the bootstrap cannot move is separated when 2 / 2^m <= alpha / #pairs
(the exact test of that constant-sign pattern, Bonferroni over the pairs to stay simultaneous).
Beyond the floor, the max-|t| bootstrap is anti-conservative on few docs (it separated a pair
that won 7 docs and lost 1, exact McNemar p = 0.07), so per task a pair is separated only when
its paired sign-flip test (exact McNemar for 0/1 docs) rejects at alpha too: "surely better"
in the rank table then always agrees with the pairwise test. `rank_task` does all of it.

Across tasks, an entry's overall score is the mean of its per-task scores; tasks have different
docs, so their bootstraps are independent and summed draw by draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness_ext.compare import resample, stats
from harness_ext.compare.stats import ConfidenceInterval, percentile_ci


@dataclass(frozen=True)
class RankResult:
    """One entry's place: `statistic` is its rank by point estimate (1 = best)."""

    label: str
    score: float
    statistic: int
    rank_low: int
    rank_high: int
    score_low: float  # percentile bootstrap interval of the score
    score_high: float
    confidence: float = 0.95

    @property
    def tied_with_best(self) -> bool:
        return self.rank_low == 1

    def confidence_interval(self) -> ConfidenceInterval:
        """The simultaneous rank interval."""
        return ConfidenceInterval(self.rank_low, self.rank_high)


def score_draws(
    values: np.ndarray, iterations: int, rng: np.random.Generator, clusters: np.ndarray | None = None
) -> np.ndarray:
    """(B, K) bootstrap draws of K entries' mean scores over the same docs (values: (K, n))."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    units = resample.Units.of(values.shape[1], clusters)
    return resample.boot_means(units.sums(values.T), units.sizes, iterations, rng)


def differing_units(values: np.ndarray, clusters: np.ndarray | None = None) -> np.ndarray:
    """(K, K) counts of resampling units (docs, or clusters) on which two entries' scores differ."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    units = resample.Units.of(values.shape[1], clusters)
    sums = units.sums(values.T).T  # (K, G)
    diff = np.abs(sums[:, None, :] - sums[None, :, :]) > 1e-9 * np.maximum(1.0, units.sizes)
    return diff.sum(axis=2)


def pair_pvalues(
    values: np.ndarray, iterations: int, rng: np.random.Generator, clusters: np.ndarray | None = None
) -> np.ndarray:
    """(K, K) unadjusted paired-test p-values: exact McNemar (0/1 docs), else unit sign-flip.

    The unit sign-flip test uses |sum of unit differences|, the statistic of the report's own
    (cluster) sign-flip test; Monte-Carlo p-values are never below the exact floor 2 / 2^m.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    k = len(values)
    ii, jj = np.triu_indices(k, 1)
    out = np.ones((k, k))
    if not len(ii):
        return out
    if clusters is None and stats.is_binary(values):
        up = (values[jj] > 0.5) & (values[ii] < 0.5)
        p = stats.mcnemar_pvalues(up.sum(axis=1), ((values[ii] > 0.5) & (values[jj] < 0.5)).sum(axis=1))
    else:
        units = resample.Units.of(values.shape[1], clusters)
        sums = units.sums(values.T)  # (G, K)
        p = stats.sign_flip_pvalues(sums[:, jj] - sums[:, ii], iterations, rng)
    differing = differing_units(values, clusters)[ii, jj]
    out[ii, jj] = out[jj, ii] = np.maximum(np.asarray(p, float), _floor(differing))
    return out


def _floor(m: np.ndarray) -> np.ndarray:
    """The exact paired sign-flip floor 2 / 2^m (1 at m = 0)."""
    return np.minimum(1.0, 2.0 ** (1.0 - np.minimum(np.asarray(m, float), 1100.0)))


def simultaneous_separation(
    scores: np.ndarray,
    draws: np.ndarray,
    alpha: float = 0.05,
    differing: np.ndarray | None = None,
    pair_p: np.ndarray | None = None,
) -> np.ndarray:
    """better[j, k]: entry j is surely above k, by simultaneous max-|t| intervals of all differences.

    ``differing`` (differing_units): a pair is separated only if 2 / 2^m <= alpha for its m
    differing units, and a pair whose bootstrap difference never varies only if 2 / 2^m <= alpha
    / #pairs. Without it (legacy callers), such a pair is separated when its difference is
    non-zero, whatever the number of docs. ``pair_p`` (pair_pvalues): the same rules with the
    pair's paired-test p-value in place of the floor.
    """
    k = len(scores)
    ii, jj = np.triu_indices(k, 1)
    obs = scores[ii] - scores[jj]
    boot = draws[:, ii] - draws[:, jj]
    sd = boot.std(axis=0, ddof=1) if len(draws) > 1 else np.zeros(len(obs))
    free = sd > 1e-12
    better = np.zeros((k, k), bool)
    if free.any():
        t = np.abs(boot[:, free] - obs[free]) / sd[free]
        crit = float(np.quantile(t.max(axis=1), 1 - alpha, method="inverted_cdf"))
        lo, hi = obs[free] - crit * sd[free], obs[free] + crit * sd[free]
        better[ii[free], jj[free]] = lo > 0
        better[jj[free], ii[free]] = hi < 0
    fixed = ~free
    if differing is not None or pair_p is not None:
        floor = np.zeros(len(obs))
        if differing is not None:
            floor = np.maximum(floor, _floor(np.asarray(differing)[ii, jj]))
        if pair_p is not None:
            floor = np.maximum(floor, np.asarray(pair_p, float)[ii, jj])
        fixed &= floor <= alpha / max(len(obs), 1)
        possible = floor <= alpha
        better[ii[~possible], jj[~possible]] = better[jj[~possible], ii[~possible]] = False
    better[ii[fixed], jj[fixed]] = obs[fixed] > 0
    better[jj[fixed], ii[fixed]] = obs[fixed] < 0
    return better


def rank_entries(
    labels: list[str],
    scores: np.ndarray,
    draws: np.ndarray,
    alpha: float = 0.05,
    higher_is_better: bool = True,
    differing: np.ndarray | None = None,
    pair_p: np.ndarray | None = None,
) -> list[RankResult]:
    """Rank intervals for K entries from their point scores (K,) and bootstrap draws (B, K).

    Equal scores (up to float noise) share their point rank, competition style (1, 2, 2, 4): input
    order says nothing about which is better. ``differing``, ``pair_p``: see
    simultaneous_separation.
    """
    sign = 1.0 if higher_is_better else -1.0
    s, d = sign * np.asarray(scores, float), sign * np.asarray(draws, float)
    better = simultaneous_separation(s, d, alpha, differing, pair_p)
    k = len(s)
    tol = 1e-9 * max(1.0, float(np.max(np.abs(s)))) if k else 0.0
    point = 1 + (s[None, :] > s[:, None] + tol).sum(axis=1)
    lo_s, hi_s = percentile_ci(draws, alpha)
    out = [
        RankResult(
            labels[j],
            float(scores[j]),
            int(point[j]),
            int(1 + better[:, j].sum()),
            int(k - better[j, :].sum()),
            float(lo_s[j]),
            float(hi_s[j]),
            1 - alpha,
        )
        for j in range(k)
    ]
    return sorted(out, key=lambda r: r.statistic)  # stable: tied entries keep input order


def rank_task(
    labels: list[str],
    values: np.ndarray,
    iterations: int,
    rng: np.random.Generator,
    clusters: np.ndarray | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> tuple[list[RankResult], np.ndarray, np.ndarray]:
    """One task's rank table from per-doc values (K, n): (rows, draws, differing units).

    Separation needs the bootstrap's simultaneous interval and the pair's own paired test.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    draws = score_draws(values, iterations, rng, clusters)
    differing = differing_units(values, clusters)
    pair_p = pair_pvalues(values, iterations, rng, clusters)
    rows = rank_entries(labels, values.mean(axis=1), draws, alpha, higher_is_better, differing, pair_p)
    return rows, draws, differing


@dataclass(frozen=True)
class Record:
    """Significant wins, ties and losses of one entry within a family of paired comparisons."""

    label: str
    wins: int
    ties: int
    losses: int


def win_tie_loss(comparisons: list, labels: list[str], higher_is_better: bool = True) -> list[Record]:
    """Count, per label, its comparisons that are significant for it, not significant, against it.

    ``comparisons`` are Comparison objects (a, b, diff, significant) already adjusted as one
    family (the study's Holm family); only pairs where both sides are in ``labels`` count.
    """
    counts = {lab: [0, 0, 0] for lab in labels}
    for c in comparisons:
        if c.a not in counts or c.b not in counts:
            continue
        if not c.significant:
            counts[c.a][1] += 1
            counts[c.b][1] += 1
            continue
        b_better = (c.diff > 0) == higher_is_better
        win, lose = (c.b, c.a) if b_better else (c.a, c.b)
        counts[win][0] += 1
        counts[lose][2] += 1
    return [Record(lab, *counts[lab]) for lab in labels]


def overall(
    labels: list[str],
    per_task_scores: list[np.ndarray],
    per_task_draws: list[np.ndarray],
    alpha: float = 0.05,
    higher_is_better: bool = True,
    per_task_differing: list[np.ndarray] | None = None,
) -> list[RankResult]:
    """Rank entries by their mean score over tasks; each task's draws independent (other docs).

    ``per_task_differing``: each task's differing_units (same entry order); tasks' units are
    distinct, so a pair's differing units add up over tasks.
    """
    scores = np.mean(np.vstack(per_task_scores), axis=0)
    b = min(len(d) for d in per_task_draws)
    draws = np.mean(np.stack([d[:b] for d in per_task_draws]), axis=0)
    differing = None if per_task_differing is None else np.sum(np.stack(per_task_differing), axis=0)
    return rank_entries(labels, scores, draws, alpha, higher_is_better, differing)
