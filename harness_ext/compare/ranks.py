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

Across tasks, an entry's overall score is the mean of its per-task scores; tasks have different
docs, so their bootstraps are independent and summed draw by draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness_ext.compare import resample
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


def simultaneous_separation(scores: np.ndarray, draws: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """better[j, k]: entry j is surely above k, by simultaneous max-|t| intervals of all differences.

    A pair whose bootstrap difference never varies (identical per-doc scores, or a difference the
    resamples cannot move) is separated exactly when its observed difference is non-zero.
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
    better[ii[fixed], jj[fixed]] = obs[fixed] > 0
    better[jj[fixed], ii[fixed]] = obs[fixed] < 0
    return better


def rank_entries(
    labels: list[str],
    scores: np.ndarray,
    draws: np.ndarray,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> list[RankResult]:
    """Rank intervals for K entries from their point scores (K,) and bootstrap draws (B, K)."""
    sign = 1.0 if higher_is_better else -1.0
    s, d = sign * np.asarray(scores, float), sign * np.asarray(draws, float)
    better = simultaneous_separation(s, d, alpha)
    k = len(s)
    order = np.argsort(-s, kind="stable")
    point = np.empty(k, int)
    point[order] = np.arange(1, k + 1)
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
    return sorted(out, key=lambda r: r.statistic)


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
) -> list[RankResult]:
    """Rank entries by their mean score over tasks; each task's draws independent (other docs)."""
    scores = np.mean(np.vstack(per_task_scores), axis=0)
    b = min(len(d) for d in per_task_draws)
    draws = np.mean(np.stack([d[:b] for d in per_task_draws]), axis=0)
    return rank_entries(labels, scores, draws, alpha, higher_is_better)
