"""Generalization: one entry's paired effect against a reference in every cell it meets, pooled.

``by="decomposer"``: an entry is a decomposer, the reference another decomposer, a cell one
(solver, task) where both ran; ``by="solver"`` the same with the roles swapped; ``by="task"``: an
entry is a run label, the reference a run label, a cell one task. Each cell's Δ, interval and
p are the comparison the report already made (so the forest shows exactly the report's numbers,
Holm family included). The pooled effect is a random-effects meta-analysis (meta.py) with the
cell's standard error read off its interval, (high - low) / (2 z): the interval is the report's
corner-safe one (never zero width), so no cell gets infinite weight.

Cells that share docs (two solvers on one task) are correlated: their covariance is the per-doc
correlation of the two cells' paired differences times their SEs, and it enters the pooled
estimate, Q and tau^2 through the full covariance matrix (meta.cell_covariance).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from harness_ext.compare import intervals, meta
from harness_ext.compare.stats import ConfidenceInterval

By = Literal["decomposer", "solver", "task"]
BYS = ("decomposer", "solver", "task")
HETEROGENEOUS_I2 = 0.5  # Higgins et al. (2003): 50 % is "moderate to substantial"
CONTEXT = {"decomposer": "the solver", "solver": "the decomposer"}  # the other factor of a cell


@dataclass(frozen=True)
class Config:
    """What a label stands for: its two sides (None for runs that are not two_stage)."""

    label: str
    decomposer: str | None
    solver: str | None


@dataclass(frozen=True)
class CellEffect:
    """Δ = entry − reference on one cell; `statistic` is Δ, `pvalue` the report's unadjusted p."""

    task: str
    context: str  # the other factor: the solver (by decomposer), the decomposer (by solver), "" (by task)
    reference: str  # label of the reference run
    label: str  # label of the entry's run
    statistic: float
    ci_low: float
    ci_high: float
    pvalue: float
    p_adjusted: float
    significant: bool
    n: int
    trained: bool = False  # the entry was trained on this task

    def confidence_interval(self) -> ConfidenceInterval:
        return ConfidenceInterval(self.ci_low, self.ci_high)


@dataclass(frozen=True)
class Generalization:
    entry: str
    reference: str
    by: str
    metric: str
    cells: tuple[CellEffect, ...]
    pooled: meta.MetaResult | None
    verdict: str


def _pick(configs: list[Config], by: str, name: str, context: str | None) -> str | None:
    for c in configs:
        if by == "decomposer" and c.decomposer == name and c.solver == context:
            return c.label
        if by == "solver" and c.solver == name and c.decomposer == context:
            return c.label
    return None


def entries_of(configs: list[Config], by: str, reference: str) -> list[str]:
    if by == "task":
        return [c.label for c in configs if c.label != reference]
    names = [getattr(c, by) for c in configs]
    return [n for n in dict.fromkeys(names) if n is not None and n != reference]


def _cell(comp, task: str, context: str, ref: str, lab: str, trained: bool) -> CellEffect:
    sign = 1.0 if comp.b == lab else -1.0
    lo, hi = (comp.ci_low, comp.ci_high) if sign > 0 else (-comp.ci_high, -comp.ci_low)
    # + 0.0: a flipped zero is -0.0, which printed as "-0.000" beside its twin "+0.000"
    return CellEffect(
        task, context, ref, lab, sign * comp.diff + 0.0, lo + 0.0, hi + 0.0, comp.p_value, comp.p_adjusted,
        comp.significant, comp.n, trained,
    )  # fmt: skip


def cells_for(
    entry: str,
    reference: str,
    by: str,
    configs: list[Config],
    comparisons: dict[tuple[str, frozenset], object],
    tasks: list[str],
    trained_on: dict[str, str],
) -> tuple[list[CellEffect], list[str]]:
    """Every cell where entry and reference both ran and were compared; notes for the rest."""
    cells, notes = [], []
    other = {"decomposer": "solver", "solver": "decomposer"}.get(by)
    contexts = [""] if other is None else list(dict.fromkeys(getattr(c, other) for c in configs))
    for task in tasks:
        for ctx in contexts:
            ref: str | None = reference
            lab: str | None = entry
            if other is not None:
                ref, lab = _pick(configs, by, reference, ctx), _pick(configs, by, entry, ctx)
            if lab is not None and ref is None:  # the entry ran here, the reference did not: say so
                notes.append(f"{task}: {lab} has no {reference} run with {other} {ctx} to compare with; left out")
            if ref is None or lab is None:
                continue
            comp = comparisons.get((task, frozenset((ref, lab))))
            if comp is None:
                notes.append(f"{task}: {lab} vs {ref} was not compared; left out of the pool")
                continue
            cells.append(_cell(comp, task, ctx or "", ref, lab, trained_on.get(entry) == task))
    return cells, notes


def covariance(cells: list[CellEffect], diffs: list[np.ndarray], confidence: float) -> np.ndarray:
    z = float(special.ndtri(1 - (1 - confidence) / 2))
    se = np.array([max(c.ci_high - c.ci_low, 1e-12) / (2 * z) for c in cells])
    return meta.cell_covariance(diffs, [c.task for c in cells], se)


def pool(
    cells: list[CellEffect], cov: np.ndarray, confidence: float, span: float | None = None
) -> meta.MetaResult | None:
    """The pooled effect; ``span``: scores lie in [0, span], so every Δ (and the pool) in [-span, span]."""
    if len(cells) < 2:
        return None
    bounds = None if span is None else (-span, span)
    return meta.random_effects(np.array([c.statistic for c in cells]), cov, "REML", confidence, bounds=bounds)


def bounded_span(values: dict[str, dict[str, np.ndarray]], cells: list[CellEffect]) -> float | None:
    """1.0 when every score the cells use is in [0, 1] (accuracy, F1...), else None (unbounded)."""
    used = [values[c.task][lab] for c in cells for lab in (c.label, c.reference)]
    return 1.0 if used and all(intervals.in_unit_range(x) for x in used) else None


def explained_by(cells: list[CellEffect], cov: np.ndarray, by: str) -> str | None:
    """The factor whose levels leave the cells homogeneous (within-level Q p >= 0.10), if one does."""
    y = np.array([c.statistic for c in cells])
    factors = [("task", "the task")] + ([("context", CONTEXT[by])] if by in CONTEXT else [])
    for attr, words in factors:
        levels = [getattr(c, attr) for c in cells]
        q = df = 0.0
        for lev in dict.fromkeys(levels):
            idx = [i for i, x in enumerate(levels) if x == lev]
            if len(idx) > 1:
                m = meta.random_effects(y[idx], cov[np.ix_(idx, idx)], "DL")
                q, df = q + m.q, df + m.df
        if len(set(levels)) > 1 and df > 0 and special.chdtrc(df, q) >= 0.10:
            return words
    return None


def _fmt_pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def verdict(
    cells: list[CellEffect],
    pooled: meta.MetaResult | None,
    by: str,
    where: str | None = None,
    higher_is_better: bool = True,
    span: float | None = None,
) -> str:
    """The reading in plain words, from the cells' intervals and the pooled interval.

    ``where``: the factor that explains the heterogeneity (explained_by), else "the cell".
    ``higher_is_better=False`` (perplexity, error rates): a negative Δ helps. ``span``: the
    metric's range, so a pooled interval as wide as the range is not called a bound.
    "helps in every cell" needs every cell's own (unadjusted) interval above 0: an
    intersection-union test, level alpha without a multiplicity adjustment (Berger 1982).
    """
    if not cells:
        return "no cell to judge"
    good, bad = ("helps", "hurts") if higher_is_better else ("hurts", "helps")
    up = sum(c.ci_low > 0 for c in cells)
    down = sum(c.ci_high < 0 for c in cells)
    where = where or ("the task" if by == "task" else f"{CONTEXT[by]} and the task together")
    if pooled is None:
        c = cells[0]
        sign = good if c.ci_low > 0 else bad if c.ci_high < 0 else "no evidence of an effect"
        return f"one cell only: {sign} (Δ {c.statistic:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}])"
    lo, hi, i2 = pooled.ci_low, pooled.ci_high, pooled.i2
    het = i2 >= HETEROGENEOUS_I2 or pooled.q_pvalue < 0.10
    spread = f"I² {_fmt_pct(i2)}, Q p = {pooled.q_pvalue:.2g}"
    size = f"; how much depends on {where}: {spread}" if het else ""
    if up == len(cells) or down == len(cells):
        sign = good if up else bad
        return f"{sign} in every cell ({len(cells)}/{len(cells)}; pooled Δ {pooled.statistic:+.3f} [{lo:+.3f}, {hi:+.3f}]{size})"
    if lo > 0 or hi < 0:
        sign = good if lo > 0 else bad
        dep = f"but depends on {where}: {spread}" if het else f"consistently ({spread})"
        return f"{sign} on average {dep}; pooled Δ {pooled.statistic:+.3f} [{lo:+.3f}, {hi:+.3f}]"
    if het or up or down:
        dep = f", depending on {where}" if het else ""
        ups, downs = (up, down) if higher_is_better else (down, up)
        return (
            f"no evidence of an average effect, but the cells disagree{dep} ({spread}): helps in {ups}, "
            f"hurts in {downs} of {len(cells)} cells; pooled CI [{lo:+.3f}, {hi:+.3f}]"
        )
    bound = max(abs(lo), abs(hi))
    if span is not None and bound >= 0.5 * span:  # the interval rules out almost nothing of the range
        return (
            f"no evidence of an effect, and too little data to bound it: the pooled CI "
            f"[{lo:+.3f}, {hi:+.3f}] covers most of the possible range ({spread})"
        )
    return f"no evidence of an effect; the pooled CI bounds it within ±{bound:.3f} ({spread})"


def generalization(
    entry: str,
    reference: str,
    by: str,
    configs: list[Config],
    comparisons: dict[tuple[str, frozenset], object],
    values: dict[str, dict[str, np.ndarray]],
    metric: str,
    trained_on: dict[str, str] | None = None,
    confidence: float = 0.95,
    higher_is_better: bool = True,
) -> tuple[Generalization, list[str]]:
    """The report for one entry; ``values[task][label]`` are per-doc scores in one doc order per task.

    Δ stays entry − reference whatever the metric's direction; ``higher_is_better`` only decides
    whether a positive Δ is read as "helps" (lm-eval's ``higher_is_better`` of the metric).
    """
    cells, notes = cells_for(entry, reference, by, configs, comparisons, list(values), trained_on or {})
    diffs = [values[c.task][c.label] - values[c.task][c.reference] for c in cells]
    cov = covariance(cells, diffs, confidence)
    span = bounded_span(values, cells)
    pooled = pool(cells, cov, confidence, span)
    where = explained_by(cells, cov, by) if pooled is not None else None
    said = verdict(cells, pooled, by, where, higher_is_better, span)
    return Generalization(entry, reference, by, metric, tuple(cells), pooled, said), notes


def index_comparisons(comparisons: list, metric_of: dict[str, tuple[str, str]]) -> dict[tuple[str, frozenset], object]:
    """(task, {a, b}) -> the comparison on that task's primary (metric, filter)."""
    return {(c.task, frozenset((c.a, c.b))): c for c in comparisons if metric_of.get(c.task) == (c.metric, c.filter)}
