"""Input integrity and filter choice for `dq compare`.

A samples file cut short, or one from another run, would otherwise be compared silently. Each
task's samples are checked against its results file: the doc count against `n-samples`, and
each metric's aggregate, recomputed from the samples with lm-eval's own aggregation, against
the value the results file reports. A mismatch is one error line naming the file.
"""

from __future__ import annotations

import math
from pathlib import Path

from harness_ext.compare import aggregate
from harness_ext.compare.aggregate import Aggregation
from harness_ext.compare.samples import RunError, TaskSamples

DEFAULT_FILTER = "strict-match"  # lm-eval's GSM8K-style tasks: the filter papers report


def _configured(results: dict, task: str) -> dict[str, object]:
    """metric -> aggregation as the task config names it (None: lm-eval's default)."""
    cfg = (results.get("configs") or {}).get(task) or {}
    out: dict[str, object] = {}
    for entry in cfg.get("metric_list") or []:
        if isinstance(entry, dict) and "metric" in entry:
            out[str(entry["metric"])] = entry.get("aggregation")
    return out


def check_task(
    results: dict, results_file: Path, task: str, samples: dict[tuple[str, str], TaskSamples]
) -> dict[tuple[str, str], Aggregation | str]:
    """Check one task's samples against the results file; return each metric's aggregation."""
    configured = _configured(results, task)
    aggs: dict[tuple[str, str], Aggregation | str] = {}
    n_samples = ((results.get("n-samples") or {}).get(task) or {}).get("effective")
    reported = (results.get("results") or {}).get(task) or {}
    for (_, flt), ts in samples.items():
        if isinstance(n_samples, int) and len(ts.doc_ids) != n_samples:
            raise RunError(
                f"{ts.path}: {len(ts.doc_ids)} docs for filter {flt}, but {results_file.name} says "
                f"n-samples {n_samples} for {task}; the samples file is cut short or from another run"
            )
        for metric, values in ts.metrics.items():
            agg = aggs.setdefault((task, metric), aggregate.resolve(metric, configured.get(metric)))
            if isinstance(agg, str) or values.ndim != (2 if agg.components == 2 else 1):
                continue
            _check_value(reported.get(f"{metric},{flt}"), metric, agg, values, ts, results_file)
    return aggs


def _check_value(want: object, metric: str, agg: Aggregation, values, ts: TaskSamples, results_file: Path) -> None:
    if not isinstance(want, (int, float)) or isinstance(want, bool) or not math.isfinite(want):
        return  # no reported value to check against (or lm-eval reported N/A)
    got = aggregate.lmeval_value(agg, values)
    if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9):
        raise RunError(
            f"{ts.path}: {metric},{ts.filter} recomputed from the samples ({agg.name}) is {got:.6g}, but "
            f"{results_file.name} reports {want:.6g}; the samples and results files do not belong together"
        )


def choose_filters(runs: list[dict[tuple[str, str], TaskSamples]], wanted: str | None) -> list[str]:
    """Keep one filter per task in every run's samples (each keyed by (task, filter), edited in
    place): --filter, else the only one, else strict-match."""
    notes: list[str] = []
    tasks = dict.fromkeys(t for samples in runs for t, _ in samples)
    for task in tasks:
        have = list(dict.fromkeys(f for samples in runs for t, f in samples if t == task))
        if wanted is not None and wanted in have:
            pick = wanted
        elif len(have) == 1:
            pick = have[0]
            if wanted is not None:
                notes.append(f"task {task} has only filter {pick!r}; --filter {wanted} does not apply to it")
        elif wanted is None and DEFAULT_FILTER in have:
            pick = DEFAULT_FILTER
            others = ", ".join(f for f in have if f != pick)
            notes.append(f"task {task}: showing filter {pick!r} (also present: {others}; choose with --filter)")
        else:
            raise RunError(
                f"task {task} has filters {', '.join(have)}"
                + (f" but not {wanted!r}" if wanted else "")
                + "; choose one with --filter NAME"
            )
        for samples in runs:
            for key in [k for k in samples if k[0] == task and k[1] != pick]:
                del samples[key]
    return notes
