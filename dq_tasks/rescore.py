"""Re-extract and rescore committed lm-eval runs from their samples' raw replies.

``python -m dq_tasks.rescore [--dry-run] RUN_DIR...`` finds every ``results_<date>.json`` under
each RUN_DIR, rebuilds its tasks from ``dq_tasks/`` with lm-eval's TaskManager, runs each
task's own filter ensembles (lm-eval's ``FilterEnsemble.apply`` on ``Instance`` objects, as
``Task.apply_filters`` does) and ``process_results`` on the samples' ``resps``, and aggregates
with the task's aggregation and lm-eval's ``stderr_for_metric``: the numbers lm-eval would
write. Only files whose filtered answers or scores change are rewritten (atomically, in
lm-eval's own JSON layout); everything else stays byte-identical. A run scored under filters
the tasks no longer have (e.g. the single ``none`` filter of runs before the two-filter
scheme) is reported and left alone: rescoring it would change its layout, not just a score.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dq_tasks.constants import TASKS_DIR


@dataclass
class FileChange:
    """What rescoring changed in one file: lines (samples) and metric values (results)."""

    path: Path
    lines: int = 0
    metrics: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class RunReport:
    results: Path
    changes: list[FileChange] = field(default_factory=list)
    skipped: str = ""


# --------------------------------------------------------------------------- lm-eval pieces
def task_manager() -> Any:
    """lm-eval's TaskManager over dq_tasks/ (indexing every task takes a while: build it once)."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(TASKS_DIR))


def _tasks(names: Iterable[str], manager: Any) -> dict[str, Any]:
    from lm_eval.tasks import get_task_dict

    return get_task_dict(sorted(set(names)), manager)


def _rescore_lines(task: Any, lines: list[dict]) -> list[dict]:
    """New versions of a samples file's lines: each line's filter re-run on its ``resps``."""
    from lm_eval.api.instance import Instance

    ensembles = {f.name: f for f in task._filters}
    out = []
    for line in lines:
        request = Instance(
            request_type="generate_until",
            doc=line["doc"],
            arguments=(line["arguments"]["gen_args_0"]["arg_0"], line["arguments"]["gen_args_0"]["arg_1"]),
            idx=0,
            metadata=(task.config.task, line["doc_id"], 1),
        )
        request.resps = list(line["resps"][0])
        ensembles[line["filter"]].apply([request])
        filtered = request.filtered_resps[line["filter"]]
        metrics = task.process_results(line["doc"], [filtered])
        new = dict(line)
        new["filtered_resps"] = [filtered]
        new.update(metrics)
        out.append(new)
    return out


def _aggregates(task: Any, lines: list[dict], bootstrap_iters: int) -> dict[str, Any]:
    """``<metric>,<filter>`` and ``<metric>_stderr,<filter>`` as lm-eval's TaskOutput computes them."""
    from lm_eval.api.metrics import stderr_for_metric

    values: dict[tuple[str, str], list[Any]] = {}
    for line in lines:
        for metric in line["metrics"]:
            values.setdefault((metric, line["filter"]), []).append(line[metric])
    out: dict[str, Any] = {}
    for (metric, filter_key), items in values.items():
        agg = task.aggregation()[metric]
        out[f"{metric},{filter_key}"] = agg(items)
        stderr = stderr_for_metric(metric=agg, bootstrap_iters=bootstrap_iters) if bootstrap_iters > 0 else None
        out[f"{metric}_stderr,{filter_key}"] = stderr(items) if (stderr and len(items) > 1) else "N/A"
    return out


# --------------------------------------------------------------------------- files
def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _dump_samples(lines: Sequence[dict]) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def _dump_results(results: dict, original: str) -> str:
    text = json.dumps(results, indent=2, ensure_ascii=False)
    return text + "\n" if original.endswith("\n") else text


def rescore_run(results_path: Path, manager: Any, dry_run: bool = False) -> RunReport:
    """Rescore one ``results_<date>.json`` and the ``samples_<task>_<date>.jsonl`` beside it."""
    report = RunReport(results_path)
    original = results_path.read_text(encoding="utf-8")
    results = json.loads(original)
    date = results_path.stem.removeprefix("results_")
    samples = {name: results_path.parent / f"samples_{name}_{date}.jsonl" for name in results.get("configs", {})}
    samples = {name: path for name, path in samples.items() if path.is_file()}
    tasks = _tasks(samples, manager)
    bootstrap_iters = int((results.get("config") or {}).get("bootstrap_iters") or 0)
    new_results = json.loads(original)
    for name, path in sorted(samples.items()):
        task = tasks[name]
        text = path.read_text(encoding="utf-8")
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        known = {f.name for f in task._filters}
        stale = sorted({line["filter"] for line in lines} - known)
        if stale:
            report.skipped = (
                f"{path.name}: scored under filter(s) {stale}, which {name} no longer has "
                f"(it has {sorted(known)}); rescoring would change the run's layout"
            )
            return report
        new_lines = _rescore_lines(task, lines)
        changed = sum(a != b for a, b in zip(lines, new_lines))
        if changed:
            report.changes.append(FileChange(path, lines=changed))
            if not dry_run:
                _write_atomic(path, _dump_samples(new_lines))
        for key, value in _aggregates(task, new_lines, bootstrap_iters).items():
            old = new_results["results"][name].get(key)
            if old != value:
                new_results["results"][name][key] = value
                report.changes.append(FileChange(results_path, metrics={f"{name} {key}": (old, value)}))
    if any(c.path == results_path for c in report.changes) and not dry_run:
        _write_atomic(results_path, _dump_results(new_results, original))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dq_tasks.rescore", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dirs", nargs="+", type=Path, help="folders holding lm-eval results_*.json files")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.run_dirs if not d.is_dir()]
    if missing:
        print(
            f"dq: error: not a folder: {', '.join(missing)}; pass run folders that hold results_*.json", file=sys.stderr
        )
        return 2
    manager = task_manager()
    for run_dir in args.run_dirs:
        for results_path in sorted(run_dir.rglob("results_*.json")):
            report = rescore_run(results_path, manager, args.dry_run)
            if report.skipped:
                print(f"skipped {results_path}: {report.skipped}")
                continue
            for change in report.changes:
                what = (
                    f"{change.lines} sample lines"
                    if change.lines
                    else "; ".join(f"{k}: {a} -> {b}" for k, (a, b) in change.metrics.items())
                )
                print(f"{'would change' if args.dry_run else 'changed'} {change.path}: {what}")
            if not report.changes:
                print(f"unchanged {results_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
