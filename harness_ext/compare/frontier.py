"""The cost frontier: accuracy against cost, Pareto-optimal entries marked (pure numpy, no I/O).

Cost per entry is nominal and known exactly (tokens, FLOPs, USD: study/cost.py), so only the
accuracy carries an interval. An entry is Pareto-optimal when no other entry costs at most as
much and scores at least as much, one of them strictly. That is a statement about point
estimates; the interval-aware version asks whether a cheaper entry is *significantly* better
(a paired comparison of the family, when one was made), and `dominated_by` names such entries.
Accuracy per unit cost carries the accuracy's interval divided by the (exact) cost.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from harness_ext.compare.stats import ConfidenceInterval


@dataclass(frozen=True)
class FrontierPoint:
    """One entry on one task; `statistic` is its accuracy."""

    label: str
    statistic: float
    ci_low: float
    ci_high: float
    cost: float | None  # None: unknown (an unpriced API model, say)
    pareto: bool
    dominated_by: tuple[str, ...] = ()  # cheaper-or-equal entries significantly better
    confidence: float = 0.95

    def confidence_interval(self) -> ConfidenceInterval:
        return ConfidenceInterval(self.ci_low, self.ci_high)

    def per_cost(self, unit: float = 1.0) -> tuple[float, float, float] | None:
        """(accuracy, low, high) per ``unit`` of cost; None when the cost is unknown or zero."""
        if not self.cost:
            return None
        k = unit / self.cost
        return self.statistic * k, self.ci_low * k, self.ci_high * k


def pareto_mask(scores: np.ndarray, costs: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """True where no other point is at most as costly and at least as good, one strictly."""
    s = np.asarray(scores, float) * (1 if higher_is_better else -1)
    c = np.asarray(costs, float)
    cheaper_eq = c[None, :] <= c[:, None]  # [i, j]: j costs <= i
    better_eq = s[None, :] >= s[:, None]
    strict = (c[None, :] < c[:, None]) | (s[None, :] > s[:, None])
    dominated = (cheaper_eq & better_eq & strict).any(axis=1)
    return np.asarray(~dominated)


def frontier(
    labels: list[str],
    scores: np.ndarray,
    ci_low: np.ndarray,
    ci_high: np.ndarray,
    costs: list[float | None],
    significant_better: AbstractSet[tuple[str, str]] = frozenset(),
    higher_is_better: bool = True,
    confidence: float = 0.95,
) -> list[FrontierPoint]:
    """Points sorted by cost (unknown cost last); ``significant_better`` holds (winner, loser) pairs.

    A NaN or infinite cost (a price table without the model, a 0/0 rate) is unknown, like None:
    a NaN compares false with everything, so it made its entry Pareto-optimal and undominable.
    """
    costs = [_known(c) for c in costs]
    known = [c for c in costs if c is not None]
    mask = np.zeros(len(labels), bool)
    idx = [i for i, c in enumerate(costs) if c is not None]
    if idx:
        mask[idx] = pareto_mask(np.asarray(scores)[idx], np.array(known, float), higher_is_better)
    points = []
    for i, lab in enumerate(labels):
        cost = costs[i]
        cheaper = tuple(
            labels[j]
            for j in idx
            if j != i and cost is not None and (costs[j] or 0.0) <= cost and (labels[j], lab) in significant_better
        )
        point = FrontierPoint(
            lab, float(scores[i]), float(ci_low[i]), float(ci_high[i]), cost, bool(mask[i]), cheaper, confidence
        )
        points.append(point)
    return sorted(points, key=lambda p: (p.cost is None, p.cost or 0.0, -p.statistic))


def _known(cost: float | None) -> float | None:
    if cost is None or not np.isfinite(cost):
        return None
    if cost < 0:
        raise ValueError(f"a cost cannot be negative, got {cost}")
    return float(cost)


def significant_pairs(comparisons: list, higher_is_better: bool = True) -> set[tuple[str, str]]:
    """(winner, loser) label pairs of the significant comparisons of a family."""
    out = set()
    for c in comparisons:
        if c.significant and c.diff != 0:
            b_wins = (c.diff > 0) == higher_is_better
            out.add((c.b, c.a) if b_wins else (c.a, c.b))
    return out
