"""The comparisons a study makes, as one family (study file's ``comparisons:`` narrows them).

Per task: every pair of decomposers under the same solver (against single-stage when one is
``none``) and every pair of solvers under the same decomposer, paired on the same docs
(harness_ext.compare.compare_runs), then Holm over *all* comparisons of the study at once
(compare/adjust.py, the adjuster `dq compare` uses): one family per study.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from harness_ext.compare import stats
from harness_ext.compare.adjust import adjust_family
from harness_ext.compare.api import Comparison, ComparisonReport, RunInfo, RunSummary, compare_runs
from harness_ext.compare.runs import load_run
from harness_ext.study_record import CellResult


def _solo_summaries(path: str, label: str, alpha: float) -> list[RunSummary]:
    """CIs of a cell that has no baseline to be compared with."""
    run = load_run(path, label)
    out = []
    for (task, flt), ts in run.samples.items():
        for metric, values in ts.metrics.items():
            clusters = np.asarray([str(c) for c in ts.clusters]) if ts.clusters is not None else None
            m = stats.mean_ci(values, alpha, clusters=clusters)
            row = (label, task, metric, flt, m.n, m.statistic, m.ci_low, m.ci_high, m.method, m.stderr)
            out.append(RunSummary(*row, m.clustered_stderr, m.n_clusters))
    return out


def wanted(a: CellResult, b: CellResult, kinds: tuple[str, ...], pairs: tuple = ()) -> bool:
    """Is (a, b) a comparison the study asks for? Same solver: decomposers compared (against
    single-stage when one is ``none``); same decomposer: solvers compared; or a listed pair."""
    if a.task != b.task:
        return False
    cells = {(a.decomposer, a.solver), (b.decomposer, b.solver)}
    if any(cells == set(pair) for pair in pairs):
        return True
    if a.solver == b.solver:
        single = "none" in (a.decomposer, b.decomposer)
        return ("single_stage" if single else "decomposers") in kinds
    return a.decomposer == b.decomposer and "solvers" in kinds


def _task_comparisons(study, members: list[CellResult]) -> tuple[list, list, list[str]]:
    """Every wanted pair among one task's cells, single-stage cells first (as run A)."""
    ordered = sorted(members, key=lambda c: (c.decomposer != "none", c.label))
    by_label = {c.label: c for c in ordered}
    rep = compare_runs(
        [str(c.output_dir) for c in ordered],
        labels=[c.label for c in ordered],
        alpha=study.alpha,
        iterations=study.iterations,
        seed=study.seed,
        correction="holm",
    )
    kept = [c for c in rep.comparisons if wanted(by_label[c.a], by_label[c.b], study.comparisons, study.pairs)]
    return rep.summaries, kept, rep.notes


def build_report(study, cells: list[CellResult]) -> ComparisonReport:
    """One Holm family per study: every comparison the study asks for (``comparisons:``)."""
    ok = [c for c in cells if c.ok]
    by_task: dict[str, list[CellResult]] = defaultdict(list)
    for c in ok:
        by_task[c.task].append(c)
    summaries: list[RunSummary] = []
    comparisons: list[Comparison] = []
    notes: list[str] = []
    for task, members in by_task.items():
        if len(members) > 1:
            got = _task_comparisons(study, members)
            summaries, comparisons, notes = summaries + got[0], comparisons + got[1], notes + got[2]
        else:
            summaries += _solo_summaries(str(members[0].output_dir), members[0].label, study.alpha)
            notes.append(f"{task}: one cell ran ({members[0].label}); nothing to compare it with")
    comparisons = adjust_family(comparisons, "holm", study.alpha)
    runs: dict[str, RunInfo] = {}
    for c in ok:
        runs.setdefault(
            c.label, RunInfo(c.label, str(Path(str(c.output_dir)).parents[2]), "two_stage", c.decomposer, c.solver)
        )
    alpha, iters, seed = study.alpha, study.iterations, study.seed
    return ComparisonReport(list(runs.values()), summaries, comparisons, alpha, "holm", iters, seed, notes=notes)
