"""Calibrate the demo: accuracy per task for single-stage, model decomposer and oracle decomposer.

    OMP_NUM_THREADS=1 python benchmarks/calibrate_demo.py --limit 40 \
        --tasks dq_synth_easy_d1 dq_synth_easy_d2 dq_synth_easy_d3

Runs the demo's three configurations (harness_ext/demo.py, same model arguments) on each task
and prints a markdown table: accuracy with its Wilson 95% CI, and the share of docs on which the
model decomposer wrote at least one sub-question (and how many equal the gold ones), per lm-eval filter (strict-match: the number
after "The answer is"; flexible-extract: the last number). Runs go to a fresh temporary folder.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from dq_tasks.extract import FILTERS
from harness_ext.demo import RUNS, Settings, decomposition_rate, read_jsonl, run_all


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def accuracy_cell(run: Path, task: str, filter_name: str) -> str:
    scores = [float(s["exact_match"]) for s in read_jsonl(run, "samples", task) if s.get("filter") == filter_name]
    k, n = int(sum(scores)), len(scores)
    lo, hi = wilson(k, n)
    return f"{k / max(n, 1):.2f} [{lo:.2f}, {hi:.2f}]"


def gold_agreement(run: Path, task: str) -> str:
    """How the model decomposer's sub-questions relate to the gold ones (a parseable question
    need not be a useful one): equal lists, and questions about the right last person."""
    docs = {s["doc_id"]: s["doc"] for s in read_jsonl(run, "samples", task)}
    traces = read_jsonl(run, "traces", task)
    same = person = copied = 0
    for t in traces:
        gold = docs[t["doc_id"]]["gold_subquestions"]
        same += [q.lower() for q in t["subquestions"]] == [q.lower() for q in gold]
        copied += any(" pens " in q for q in t["subquestions"])  # the decompose prompt's example item
        person += bool(t["subquestions"]) and t["subquestions"][-1].split(" does ")[-1] == gold[-1].split(" does ")[-1]
    return (
        f"{task}: sub-questions equal to the gold ones {same}/{len(traces)}; last one about the gold person "
        f"{person}/{len(traces)}; naming the prompt's example item (pens) {copied}/{len(traces)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["dq_synth_easy_d1", "dq_synth_easy_d2", "dq_synth_easy_d3"])
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--batch_size", type=int, default=Settings.batch_size)
    parser.add_argument("--solver_toks", type=int, default=Settings.solver_toks)
    parser.add_argument("--decomposer_toks", type=int, default=Settings.decomposer_toks)
    parser.add_argument(
        "--inspect", metavar="RUN", help="only print gold agreement of an existing model-decomposer run"
    )
    args = parser.parse_args(argv)
    if args.inspect:
        for task in args.tasks:
            print(gold_agreement(Path(args.inspect), task))
        return 0
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    settings = Settings(args.limit, args.batch_size, args.solver_toks, args.decomposer_toks, cache=None)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dq-calibrate-") as tmp:
        paths = run_all(args.tasks, settings, Path(tmp) / "runs")
        labels = [label for label, _ in RUNS]
        print(f"| task | filter | n | {' | '.join(labels)} | model decomposer wrote sub-questions |")
        print("|---|---|---:|" + "---|" * len(labels) + "---:|")
        for task in args.tasks:
            with_subq, n, mean = decomposition_rate(paths["model-decomposer"], task)
            for filter_name in FILTERS:
                cells = [accuracy_cell(paths[label], task, filter_name) for label in labels]
                rate = f"{with_subq}/{n} (mean {mean:.2f})"
                print(f"| {task} | {filter_name} | {n} | {' | '.join(cells)} | {rate} |")
        print()
        for task in args.tasks:
            print(gold_agreement(paths["model-decomposer"], task))
    print(f"\nwall time {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
