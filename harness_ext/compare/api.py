"""`dq compare` Python API: `compare_runs(...) -> ComparisonReport`.

Then `harness_ext.compare.report.write_report(report, out_dir)`. The command line is in
cli.py. Methods per case: analysis.py; README "dq compare".
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from harness_ext.compare import analysis, intervals
from harness_ext.compare.adjust import CORRECTIONS, adjust_family, adjust_pvalues
from harness_ext.compare.checks import choose_filters
from harness_ext.compare.resample import PermutationTest
from harness_ext.compare.results import Comparison, ComparisonReport, RunInfo, RunSummary
from harness_ext.compare.runs import Run, RunError, align_runs, dedupe_labels, load_run
from harness_ext.compare.setup import Setup

__all__ = ["Comparison", "ComparisonReport", "RunInfo", "RunSummary", "compare_runs"]

Correction = Literal["holm", "bh"]
MAX_DRAWS = 1_000_000  # per Monte-Carlo test; past this an unresolved decision gets a note


def compare_runs(
    run_paths: list[str | Path],
    labels: list[str] | None = None,
    baseline: str | None = None,
    alpha: float = 0.05,
    iterations: int = 10_000,
    seed: int = 0,
    correction: str = "holm",
    intersect: bool = False,
    mid_p: bool = False,
    filter: str | None = None,
) -> ComparisonReport:
    """Load, check, align and compare lm-eval runs; raises RunError on bad input."""
    _check_args(run_paths, labels, alpha, iterations, correction)
    runs = [load_run(p) for p in run_paths]
    names = dedupe_labels(list(labels) if labels else [r.label for r in runs])
    for run, name in zip(runs, names):
        run.label = name
    pairs = _pairs(names, baseline)
    notes = [n for r in runs for n in r.notes] + choose_filters([r.samples for r in runs], filter)
    groups, align_notes = align_runs(runs, intersect=intersect)
    notes += align_notes
    m = len(groups) * len(pairs)
    setup = Setup(names, pairs, alpha, alpha / m, iterations, mid_p, [_rates(r) for r in runs])
    summaries: list[RunSummary] = []
    comparisons: list[Comparison] = []
    tests: list[tuple[PermutationTest, slice, np.random.Generator]] = []
    for group in groups:
        rng = np.random.default_rng([seed, zlib.crc32("\0".join(group.key).encode())])
        res = analysis.analyze(group, setup, rng)
        if res.perm is not None:
            tests.append((res.perm, slice(len(comparisons), len(comparisons) + len(res.comparisons)), rng))
        summaries += res.summaries
        comparisons += res.comparisons
    notes += _adjust(comparisons, tests, correction, alpha, iterations)
    notes += reconcile(comparisons, alpha)
    notes += _power_notes(comparisons)
    return ComparisonReport(
        runs=[_run_info(r) for r in runs],
        summaries=summaries,
        comparisons=comparisons,
        alpha=alpha,
        correction=correction,
        iterations=iterations,
        seed=seed,
        mid_p=mid_p,
        baseline=baseline,
        notes=notes,
    )


def _rates(run: Run) -> dict[str, float | None]:
    return {task: t.rate for task, t in run.truncation.items()}


def _check_args(run_paths, labels, alpha, iterations, correction) -> None:
    if len(run_paths) < 2:
        raise RunError(f"need at least two runs to compare, got {len(run_paths)}")
    if labels is not None and len(labels) != len(run_paths):
        raise RunError(f"--labels gives {len(labels)} labels for {len(run_paths)} runs")
    if not 0 < alpha < 1:
        raise RunError(f"--alpha must be between 0 and 1, got {alpha}")
    if iterations < 1:
        raise RunError(f"--iterations must be positive, got {iterations}")
    if correction not in CORRECTIONS:
        raise RunError(f"--correction must be one of {', '.join(CORRECTIONS)}")


def _pairs(names: list[str], baseline: str | None) -> list[tuple[int, int]]:
    """(a, b) index pairs: everything vs the baseline, else all pairs."""
    if baseline is None:
        return list(itertools.combinations(range(len(names)), 2))
    if baseline not in names:
        raise RunError(f"unknown baseline label {baseline!r}; labels are: {', '.join(names)}")
    base = names.index(baseline)
    return [(base, j) for j in range(len(names)) if j != base]


def _run_info(run: Run) -> RunInfo:
    return RunInfo(run.label, str(run.path), run.model, run.decomposer, run.solver)


def _decisions(p: np.ndarray, correction: str, alpha: float) -> np.ndarray:
    return adjust_pvalues(p, correction) < alpha


def _adjust(comparisons: list[Comparison], tests, correction: str, alpha: float, iterations: int) -> list[str]:
    """Multiple-comparison adjustment over the whole report, Monte-Carlo p-values resolved first.

    A Monte-Carlo p-value is only known within its Clopper-Pearson bounds. Holm and BH are
    monotone in every p, so if the decisions agree with every MC p at its lower bound and at
    its upper bound, no draw could change them; otherwise the undecided tests get twice the
    draws, up to MAX_DRAWS. A resampling floor thus never decides a correction's outcome.
    """
    p = np.array([c.p_value for c in comparisons], dtype=float)
    # a test that set its own p (a constant cluster difference's worst-case score) keeps it
    given = ~np.isnan(p)
    mc = np.zeros(len(p), bool)
    for perm, sl, _ in tests:
        p[sl] = np.where(given[sl], p[sl], perm.pvalues())
        mc[sl] = ~given[sl] & (not perm.exact)
    lo, hi = p.copy(), p.copy()
    while mc.any():
        for perm, sl, _ in tests:
            lo[sl], hi[sl] = perm.bounds()
        lo[given], hi[given] = p[given], p[given]
        unsure = _decisions(lo, correction, alpha) != _decisions(hi, correction, alpha)
        if not unsure.any():
            break
        # refine every MC test that could still matter: its bounds straddle a threshold region
        todo = mc & (lo < alpha) & (hi >= alpha / len(p))
        grew = False
        for perm, sl, rng in tests:
            which = todo[sl] & (perm.draws < MAX_DRAWS)
            if which.any():
                perm.more(which, int(perm.draws[which].max()), rng)
                p[sl] = np.where(given[sl], p[sl], perm.pvalues())
                grew = True
        if not grew:
            break
    unsure = _decisions(lo, correction, alpha) != _decisions(hi, correction, alpha) if mc.any() else mc
    drawn: dict[int, dict] = {}
    for perm, sl, _ in tests:
        for k in range(sl.start, sl.stop):
            if given[k]:
                continue
            drawn[k] = {"resampled": not perm.exact, "draws": int(perm.draws[k - sl.start])}
    resolved = [
        replace(c, p_value=float(p[k]), resolved=not bool(unsure[k]), **drawn.get(k, {}))
        for k, c in enumerate(comparisons)
    ]
    comparisons[:] = adjust_family(resolved, correction, alpha)
    return [
        f"unresolved: {c.task}/{c.metric} {c.b} vs {c.a}: p = {c.p_value:.2g} after {c.draws} draws "
        "is too close to the adjusted threshold to call; its star is undecided"
        for c in comparisons
        if not c.resolved
    ]


def reconcile(comparisons: list[Comparison], alpha: float) -> list[str]:
    """Make every interval say what its test says about 0 (unadjusted, at the same level).

    Exact McNemar is more conservative than Tango's score interval (whose test at 0 is McNemar's
    z), and a bootstrap interval need not match a permutation test; where the test does not
    reject, the interval is widened to hold 0 (a superset, so coverage can only rise). Where a
    Monte-Carlo test rejects and the interval inverting the same test (other draws) holds 0, its
    end is within Monte-Carlo error of 0 and moves just past it. Any other case gets a note.
    """
    notes = []
    for k, c in enumerate(comparisons):
        if intervals.agrees(c.ci_low, c.ci_high, c.p_value, alpha):
            continue
        if c.p_value >= alpha:
            low, high = intervals.extend_to_zero(c.ci_low, c.ci_high)
            method = c.ci_method + ", widened to 0 (the test does not reject)"
            comparisons[k] = replace(c, ci_low=low, ci_high=high, ci_method=method)
        elif c.resampled and "inverted" in c.ci_method:
            # the interval inverts the same test with its own Monte-Carlo draws; at 0 it sits within
            # their error, and the adaptive test (more draws where the decision needed them) rejects
            toward = -np.nextafter(0.0, 1.0) if c.diff < 0 else np.nextafter(0.0, 1.0)
            low, high = (c.ci_low, toward) if c.diff < 0 else (toward, c.ci_high)
            method = c.ci_method + ", its end at 0 moved past 0 (the Monte-Carlo test rejects 0)"
            comparisons[k] = replace(c, ci_low=low, ci_high=high, ci_method=method)
        else:
            notes.append(
                f"{c.task}/{c.metric} {c.b} vs {c.a}: the test rejects (p = {c.p_value:.2g}) but the "
                f"{c.ci_method} interval holds 0"
            )
    return notes


def _power_notes(comparisons: list[Comparison]) -> list[str]:
    comparisons[:] = [
        replace(c, underpowered=bool(not c.detectable or np.isnan(c.mdd) or abs(c.diff) < c.mdd)) for c in comparisons
    ]
    notes = []
    blind = [c for c in comparisons if not c.detectable]
    for c in blind[:10]:
        notes.append(
            f"no outcome could be significant: {c.task}/{c.metric} {c.b} vs {c.a}: with n={c.n} "
            f"the smallest attainable p-value is above the threshold {c.power_alpha:.3g} (alpha / comparisons)"
        )
    weak = [c for c in comparisons if c.detectable and c.underpowered and c.diff != 0]
    for c in weak[:10]:
        mdd = "no difference" if np.isnan(c.mdd) else f"only |diff| >= {c.mdd:.4f}"
        notes.append(
            f"underpowered: {c.task}/{c.metric} {c.b} vs {c.a}: n={c.n} can reliably detect {mdd} "
            f"(80% power at {c.power_alpha:.3g}), observed {c.diff:+.4f}"
        )
    extra = len(blind) + len(weak) - len(notes)
    if extra > 0:
        notes.append(f"... and {extra} more comparisons with the same warning (see report)")
    return notes
