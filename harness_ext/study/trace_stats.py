"""Tokens per question from two_stage traces: the cost side of a static vs dynamic comparison.

    python -m harness_ext.study.trace_stats RUN_DIR [RUN_DIR ...] [--labels a b]

Prints one markdown row per run and task: docs, docs with sub-questions, mean sub-questions,
and mean input/output tokens per question for each stage (dynamic mode: summed over rounds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import mean

from harness_ext import rundir
from harness_ext.errors import DQError
from harness_ext.records import TraceRecord


def load_traces(run: Path) -> dict[str, list[TraceRecord]]:
    files = rundir.all_traces_files(run)
    if not files:
        raise DQError(f"no traces_*.jsonl under {run}: was it a two_stage run with --output_path?")
    by_task: dict[str, list[TraceRecord]] = {}
    for f in files:
        for rec in rundir.read_traces(f):
            by_task.setdefault(rec.task or "", []).append(rec)
    return by_task


def _tokens(traces: list[TraceRecord], role: str, key: str) -> float:
    return mean(rundir.stage_number(t, role, key) for t in traces)


def rows(run: Path, label: str) -> list[str]:
    out = []
    for task, traces in sorted(load_traces(run).items()):
        with_subq = sum(bool(t.subquestions) for t in traces)
        cells = [label, task, str(len(traces)), f"{with_subq}", f"{mean(len(t.subquestions) for t in traces):.2f}"]
        cells += [f"{_tokens(traces, r, k):.0f}" for r in rundir.STAGES for k in ("prompt_tokens", "completion_tokens")]
        total_in = _tokens(traces, "decomposer", "prompt_tokens") + _tokens(traces, "solver", "prompt_tokens")
        cells.append(f"{total_in:.0f}")
        out.append("| " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness_ext.study.trace_stats", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--labels", nargs="+")
    args = ap.parse_args(argv)
    labels = args.labels or [r.name for r in args.runs]
    if len(labels) != len(args.runs):
        raise DQError(f"--labels gives {len(labels)} names for {len(args.runs)} runs")
    print(
        "| run | task | docs | docs with sub-questions | mean sub-questions | decomposer in | decomposer out "
        "| solver in | solver out | input tokens / question |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run, label in zip(args.runs, labels):
        print("\n".join(rows(run, label)))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DQError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
