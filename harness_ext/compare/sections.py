"""Leaderboard-wide sections over a finished comparison: ranks, the cost frontier, generalization.

`build_sections(...)` takes the report (its comparisons are the family the stars come from),
what each label is (`Config`), and where each label's run for each task lives; it reloads the
primary metric's per-doc values (`load_run` + `align_runs`, the same reader `dq compare` uses)
for the paired bootstrap of ranks and the covariance of cells that share docs. Rendering is in
sections_md.py; `dq study`, `dq compare --by` and `dq view` all read the result of this module.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from harness_ext import rundir
from harness_ext.compare import frontier as fr
from harness_ext.compare import ranks
from harness_ext.compare.generalize import Config, Generalization, entries_of, generalization, index_comparisons
from harness_ext.compare.ranks import RankResult, Record
from harness_ext.compare.results import ComparisonReport
from harness_ext.compare.runs import align_runs, load_run

PRIMARY = ("f1", "acc", "exact_match")  # DROP is read by F1, as in the paper
PRIMARY_FILTERS = ("strict-match", "none")  # lm-eval gsm8k convention; older runs have only "none"
COSTS = ("tokens", "flops", "usd")


def primary_metric(report: ComparisonReport, task: str) -> tuple[str, str] | None:
    """The (metric, filter) a task's leaderboard is read by."""
    keys = list(dict.fromkeys((s.metric, s.filter) for s in report.summaries if s.task == task))
    for name in PRIMARY:
        for flt in (*PRIMARY_FILTERS, None):
            for k in keys:
                if k[0] == name and (flt is None or k[1] == flt):
                    return k
    return keys[0] if keys else None


def trace_tokens(run_path: str | Path) -> dict[str, float]:
    """task -> tokens of both stages over the whole run, from dq's traces (tasks without them: absent).

    The cost axis `dq compare` has for any two_stage run (a study also has FLOPs and USD).
    """
    results, _ = rundir.find_results_file(run_path)
    out = {}
    for task, path in rundir.run_files(results, rundir.TRACES).items():
        total, known = 0.0, True
        # JSON objects, not TraceRecords: a line without token counts must read as unknown.
        for rec in rundir.read_jsonl(path):
            for role in ("decomposer", "solver"):
                stage = rec.get(role) or {}
                if role == "solver" and "prompt_tokens" not in stage:
                    known = False
                total += float(stage.get("prompt_tokens") or 0) + float(stage.get("completion_tokens") or 0)
        if known:
            out[task] = total
    return out


@dataclass(frozen=True)
class TaskValues:
    metric: str
    filter: str
    labels: list[str]
    values: np.ndarray  # (labels, n) per-doc scores, one doc order
    clusters: np.ndarray | None
    higher_is_better: bool  # lm-eval's flag for the metric; unknown reads as higher is better


def load_values(paths: dict[str, dict[str, str | Path]], report: ComparisonReport) -> dict[str, TaskValues]:
    """task -> the primary metric's aligned per-doc values of every label that ran it."""
    out = {}
    for task, by_label in paths.items():
        key = primary_metric(report, task)
        if key is None:
            continue
        runs = [load_run(p, lab) for lab, p in by_label.items()]
        groups, _ = align_runs(runs, intersect=True)
        for g in groups:
            if g.key == (task, *key):
                vals = g.values if g.values.ndim == 2 else g.values[..., 0]
                out[task] = TaskValues(
                    key[0], key[1], [r.label for r in runs], vals, g.clusters, g.higher_is_better is not False
                )
    return out


@dataclass
class Sections:
    alpha: float
    ranks: dict[str, list[RankResult]] = field(default_factory=dict)  # task -> rows
    overall: list[RankResult] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    overall_tasks: list[str] = field(default_factory=list)
    frontiers: dict[str, dict[str, list[fr.FrontierPoint]]] = field(default_factory=dict)  # task -> cost -> pts
    generalization: list[Generalization] = field(default_factory=list)
    metric_of: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "alpha": self.alpha,
            "metric_of": {t: list(k) for t, k in self.metric_of.items()},
            "ranks": {
                t: [asdict(r) | {"tied_with_best": r.tied_with_best} for r in rows] for t, rows in self.ranks.items()
            },
            "overall": [asdict(r) | {"tied_with_best": r.tied_with_best} for r in self.overall],
            "overall_tasks": self.overall_tasks,
            "records": [asdict(r) for r in self.records],
            "frontiers": {t: {k: [asdict(p) for p in pts] for k, pts in f.items()} for t, f in self.frontiers.items()},
            "generalization": [asdict(g) for g in self.generalization],
            "notes": self.notes,
        }


def _rank_tasks(
    sec: Sections, values: dict[str, TaskValues], report, iterations: int, seed: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per task: rank rows into ``sec``; returns each task's bootstrap draws and differing units."""
    draws, differing = {}, {}
    for task, tv in values.items():
        rng = np.random.default_rng([seed, zlib.crc32(f"ranks\0{task}".encode())])
        # rank_task, not score_draws + rank_entries: a pair separates only where its own exact
        # paired test could reject (a constant difference on 3 docs is no separation).
        rows, draws[task], differing[task] = ranks.rank_task(
            tv.labels, tv.values, iterations, rng, tv.clusters, sec.alpha, tv.higher_is_better
        )
        # a task's score interval is the report's own (Wilson, studentized...), as in the leaderboard
        cis = {s.label: s for s in report.summaries if (s.task, s.metric, s.filter) == (task, tv.metric, tv.filter)}
        sec.ranks[task] = [
            replace(r, score_low=cis[r.label].ci_low, score_high=cis[r.label].ci_high) if r.label in cis else r
            for r in rows
        ]
    return draws, differing


def _direction(values: dict[str, TaskValues]) -> bool:
    """One direction for a table across tasks: higher is better unless every task's metric says lower."""
    return not values or any(v.higher_is_better for v in values.values())


def _overall(
    sec: Sections,
    values: dict[str, TaskValues],
    draws: dict[str, np.ndarray],
    differing: dict[str, np.ndarray],
    report,
) -> None:
    tasks = list(values)
    common = [lab for lab in values[tasks[0]].labels if all(lab in values[t].labels for t in tasks)] if tasks else []
    if len(tasks) < 2 or len(common) < 2:
        return
    idx = {t: [values[t].labels.index(lab) for lab in common] for t in tasks}
    scores = [values[t].values[idx[t]].mean(axis=1) for t in tasks]
    hib = _direction(values)
    sec.overall = ranks.overall(
        common,
        scores,
        [draws[t][:, idx[t]] for t in tasks],
        sec.alpha,
        hib,
        per_task_differing=[differing[t][np.ix_(idx[t], idx[t])] for t in tasks],
    )
    sec.overall_tasks = tasks
    family = [c for c in report.comparisons if sec.metric_of.get(c.task) == (c.metric, c.filter)]
    # per task, each read in its metric's direction, then summed per label
    per_task = [
        ranks.win_tie_loss([c for c in family if c.task == t], common, values[t].higher_is_better) for t in tasks
    ]
    sec.records = [
        ranks.Record(lab, *(sum(getattr(rs[i], f) for rs in per_task) for f in ("wins", "ties", "losses")))
        for i, lab in enumerate(common)
    ]


def _frontiers(
    sec: Sections, values: dict[str, TaskValues], report, costs: dict[tuple[str, str], dict[str, float | None]]
) -> None:
    for task, (metric, flt) in sec.metric_of.items():
        rows = [s for s in report.summaries if (s.task, s.metric, s.filter) == (task, metric, flt)]
        fam = [c for c in report.comparisons if (c.task, c.metric, c.filter) == (task, metric, flt)]
        hib = values[task].higher_is_better
        better = fr.significant_pairs(fam, hib)
        for kind in COSTS:
            cost = [costs.get((task, s.label), {}).get(kind) for s in rows]
            if all(c is None for c in cost):
                continue
            sec.frontiers.setdefault(task, {})[kind] = fr.frontier(
                [s.label for s in rows],
                np.array([s.mean for s in rows]),
                np.array([s.ci_low for s in rows]),
                np.array([s.ci_high for s in rows]),
                cost,
                better,
                hib,
                confidence=1 - report.alpha,
            )


def build_sections(
    report: ComparisonReport,
    configs: list[Config],
    paths: dict[str, dict[str, str | Path]],
    costs: dict[tuple[str, str], dict[str, float | None]] | None = None,
    generalize: Sequence[tuple[str, str]] = (),
    trained_on: dict[str, str] | None = None,
    iterations: int = 2000,
    seed: int = 0,
) -> Sections:
    """Ranks per task and overall, frontiers (when costs are known), generalization per (by, reference)."""
    values = load_values(paths, report)
    sec = Sections(report.alpha, metric_of={t: (v.metric, v.filter) for t, v in values.items()})
    draws, differing = _rank_tasks(sec, values, report, iterations, seed)
    _overall(sec, values, draws, differing, report)
    if costs:
        _frontiers(sec, values, report, costs)
    index = index_comparisons(report.comparisons, sec.metric_of)
    per_doc = {t: dict(zip(v.labels, v.values)) for t, v in values.items()}
    hib = _direction(values)
    if len({v.higher_is_better for v in values.values()}) > 1 and generalize:
        sec.notes.append("generalization pools tasks whose metrics point different ways; Δ read as higher is better")
    for by, reference in generalize:
        for entry in entries_of(configs, by, reference):
            metric = "/".join(dict.fromkeys(v.metric for v in values.values()))
            g, notes = generalization(
                entry, reference, by, configs, index, per_doc, metric, trained_on, 1 - report.alpha, hib
            )
            if g.cells:
                sec.generalization.append(g)
            sec.notes += notes
    return sec
