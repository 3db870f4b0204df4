"""The data the `dq view` pages read: one index (leaderboard, comparisons, plots) plus per-task files.

Numbers come from `harness_ext.compare`: per-doc metric values from `load_run`, run means with
CIs from `compare_runs`, and the reported comparisons from `comparisons.json` when the source
has one (so the site shows exactly what `dq compare` / `dq study` reported), else from
`compare_runs`. The pair view counts discordant docs from the same per-doc values that
`compare_runs` tests, so its count equals the report's ``n01 + n10``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness_ext.compare.api import ComparisonReport, compare_runs
from harness_ext.compare.runs import Run, load_run
from harness_ext.errors import DQError
from harness_ext.io import clean
from harness_ext.study_record import CellCost
from harness_ext.view.sections import attach_ranks, collect_sections
from harness_ext.view.sources import Source, find_source

PREFERRED_FILTERS = ("strict-match", "none")  # what the leaderboard opens on when a task has several


@dataclass
class ViewRun:
    """One configuration as the pages show it; a study's cells with one label merge into one."""

    id: int
    label: str
    source: int
    loaded: dict[str, Run] = field(default_factory=dict)  # task -> the lm-eval run holding it
    cost: dict[str, CellCost] = field(default_factory=dict)  # task -> the cell's cost (a study)

    def info(self) -> dict[str, Any]:
        run = next(iter(self.loaded.values()))
        dq = run.dq
        return {
            "id": self.id,
            "label": self.label,
            "source": self.source,
            "model": run.model,
            "decomposer": run.decomposer,
            "solver": run.solver,
            "mode": dq.get("mode"),
            "paths": {t: str(r.path) for t, r in sorted(self.loaded.items())},
        }


@dataclass
class Collection:
    sources: list[Source]
    runs: list[ViewRun]
    reports: list[tuple[int, ComparisonReport]]  # (source index, report)
    comparisons: list[dict]  # records with a_id / b_id
    notes: list[str]

    def tasks(self) -> list[str]:
        return sorted({t for r in self.runs for t in r.loaded})

    def runs_for(self, task: str) -> list[ViewRun]:
        return [r for r in self.runs if task in r.loaded]


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------


def _load_source(src: Source, index: int, runs: list[ViewRun], taken: set[str]) -> None:
    by_label: dict[str, ViewRun] = {}
    for ref in src.runs:
        for f in ref.results:
            run = load_run(f)
            label = ref.label or run.label
            view = by_label.get(label)
            if view is None:
                unique, k = label, 2
                while unique in taken:  # the same label from another source
                    unique, k = f"{label}#{k}", k + 1
                taken.add(unique)
                view = by_label[label] = ViewRun(len(runs), unique, index)
                runs.append(view)
            for task, _flt in run.samples:
                view.loaded[task] = run
            view.cost.update(ref.cost)


def _report(runs: list[ViewRun], task: str, src: Source) -> ComparisonReport | None:
    """compare_runs over the runs of one source that hold task (for run CIs and fresh tests)."""
    paths: list[str | Path] = [r.loaded[task].path for r in runs]
    if len(paths) < 2:
        return None
    labels = [r.label for r in runs]
    # With a reported comparisons.json only the run CIs are needed: one baseline keeps it cheap.
    # Without one, every pair is tested so the pair view has statistics for any two runs.
    baseline = labels[0] if src.comparisons else None
    for intersect in (False, True):  # runs over different docs: compare the shared ones
        try:
            return compare_runs(
                paths,
                labels=labels,
                baseline=baseline,
                alpha=src.alpha,
                iterations=src.iterations,
                intersect=intersect,
            )
        except DQError:
            if intersect:
                raise
    return None


def _reports(sources: list[Source], runs: list[ViewRun], notes: list[str]) -> list[tuple[int, ComparisonReport]]:
    # One compare_runs call per distinct set of results files: a `dq compare` dir is one call,
    # a study (one cell per task) one per task.
    batches: dict[tuple[Path, ...], tuple[int, list[ViewRun], str]] = {}
    for s in range(len(sources)):
        mine = [r for r in runs if r.source == s]
        for task in sorted({t for r in mine for t in r.loaded}):
            holders = [r for r in mine if task in r.loaded]
            key = tuple(r.loaded[task].path for r in holders)
            batches.setdefault(key, (s, holders, task))
    out = []
    for s, holders, task in batches.values():
        try:
            report = _report(holders, task, sources[s])
        except DQError as exc:
            notes.append(f"{sources[s].root}: no statistics for {task}: {exc}")
            continue
        if report is not None:
            if sources[s].comparisons is None:  # else its notes are about tests nobody reported
                notes += report.notes
            out.append((s, report))
    return out


def _comparisons(sources: list[Source], runs: list[ViewRun], reports, notes: list[str]) -> list[dict]:
    """The reported comparisons (comparisons.json) where they name our runs, else compare_runs'."""
    out = []
    for s, src in enumerate(sources):
        ids = {r.label: r.id for r in runs if r.source == s}
        records = src.comparisons
        if records is not None and not all(c.get("a") in ids and c.get("b") in ids for c in records):
            notes.append(f"{src.root}: comparisons.json names runs not found here; recomputed")
            records = None
        if records is None:
            records = [c for i, rep in reports if i == s for c in rep.comparison_dicts()]
        for c in records:
            out.append(clean({**c, "a_id": ids[c["a"]], "b_id": ids[c["b"]], "reported": src.comparisons is not None}))
    return out


def collect(paths: list[str | Path]) -> Collection:
    if not paths:
        raise DQError("dq view: give at least one study, compare or run directory")
    sources = [find_source(p) for p in paths]
    runs: list[ViewRun] = []
    taken: set[str] = set()
    for i, src in enumerate(sources):
        _load_source(src, i, runs, taken)
    notes: list[str] = []
    reports = _reports(sources, runs, notes)
    comparisons = _comparisons(sources, runs, reports, notes)
    return Collection(sources, runs, reports, comparisons, list(dict.fromkeys(notes)))


# --------------------------------------------------------------------------
# The index: leaderboard rows, comparisons, per-run trace statistics
# --------------------------------------------------------------------------


def _baselines(comparisons: list[dict]) -> dict[tuple, str]:
    """(task, metric, filter) -> the run most comparisons are against."""
    counts: dict[tuple, Counter] = {}
    for c in comparisons:
        counts.setdefault((c["task"], c["metric"], c["filter"]), Counter())[c["a"]] += 1
    return {k: v.most_common(1)[0][0] for k, v in counts.items()}


def _vs(row: dict, comparisons: list[dict], baseline: str | None) -> dict | None:
    mine = [
        c
        for c in comparisons
        if (c["task"], c["metric"], c["filter"]) == (row["task"], row["metric"], row["filter"])
        and c["b_id"] == row["run"]
    ]
    mine.sort(key=lambda c: c["a"] != baseline)
    return mine[0] if mine else None


def leaderboard(col: Collection) -> list[dict]:
    ids = {(r.source, r.label): r.id for r in col.runs}
    rows = []
    for s, report in col.reports:
        for m in report.summaries:
            row = {"run": ids[(s, m.label)], **asdict(m)}
            rows.append(row)
    covered = {(r["run"], r["task"]) for r in rows}
    rows += [row for r in col.runs for row in _plain_rows(r) if (r.id, row["task"]) not in covered]
    baselines = _baselines(col.comparisons)
    sides: dict[tuple, set[int]] = {}
    for comp in col.comparisons:
        sides.setdefault((comp["task"], comp["metric"], comp["filter"], "a"), set()).add(comp["a_id"])
        sides.setdefault((comp["task"], comp["metric"], comp["filter"], "b"), set()).add(comp["b_id"])
    for row in rows:
        key = (row["task"], row["metric"], row["filter"])
        c = _vs(row, col.comparisons, baselines.get(key))
        # A baseline is compared against and never itself compared (a study has one per solver).
        row["is_baseline"] = row["run"] in sides.get((*key, "a"), set()) - sides.get((*key, "b"), set())
        if c is not None:
            row["vs"] = {k: c.get(k) for k in ("a", "a_id", "diff", "ci_low", "ci_high", "p_value", "p_adjusted")}
            row["vs"].update({k: c.get(k) for k in ("significant", "underpowered", "n01", "n10", "test")})
    return clean(rows)


def _plain_rows(run: ViewRun) -> list[dict]:
    """Means without CIs for a run nothing else shares a task with (no compare_runs report)."""
    rows = []
    for task, loaded in sorted(run.loaded.items()):
        for (tk, flt), ts in sorted(loaded.samples.items()):
            for metric, values in ts.metrics.items() if tk == task else ():
                head = {"run": run.id, "label": run.label, "task": task, "metric": metric, "filter": flt}
                rows.append(head | {"n": len(values), "mean": float(values.mean()) if len(values) else None})
    return rows


def default_filter(filters: list[str]) -> str:
    for f in PREFERRED_FILTERS:
        if f in filters:
            return f
    return sorted(filters)[0]


def index_payload(col: Collection, task_stats: dict[tuple[int, str], dict], plots: list[dict], title: str) -> dict:
    tasks = []
    for t, task in enumerate(col.tasks()):
        holders = col.runs_for(task)
        groups = {
            (m, f) for r in holders for (tk, f), ts in r.loaded[task].samples.items() if tk == task for m in ts.metrics
        }
        filters = sorted({g[1] for g in groups})
        tasks.append(
            {
                "id": t,
                "task": task,
                "runs": [r.id for r in holders],
                "metrics": sorted({g[0] for g in groups}),
                "filters": filters,
                "default_filter": default_filter(filters) if filters else None,
            }
        )
    stats = [{"run": r, "task": t, **s} for (r, t), s in sorted(task_stats.items())]
    sections = collect_sections(col)
    rows = leaderboard(col)
    attach_ranks(rows, sections, {r.id: r.source for r in col.runs})
    return clean(
        {
            "title": title,
            "sources": [{"kind": s.kind, "root": str(s.root)} for s in col.sources],
            "runs": [r.info() for r in col.runs],
            "tasks": tasks,
            "leaderboard": rows,
            "sections": sections,
            "comparisons": col.comparisons,
            "stats": stats,
            "plots": plots,
            "notes": col.notes,
        }
    )
