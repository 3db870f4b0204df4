"""`dq compare` command line.

dq compare RUN RUN [RUN ...] [--baseline LABEL] [--labels ...] [--out DIR]
           [--alpha 0.05] [--iterations 10000] [--seed S] [--filter NAME]
           [--intersect] [--mid-p] [--correction {holm,bh}]
           [--by {decomposer,solver,task} --reference LABEL] [--trained-on ENTRY=TASK ...]

Every report also ranks the runs per task (and overall when they share several tasks) with
simultaneous rank intervals; ``--by`` adds the generalization report (compare/sections.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness_ext.argv import parse_argv
from harness_ext.compare.api import CORRECTIONS, compare_runs
from harness_ext.compare.generalize import BYS, Config
from harness_ext.compare.runs import RunError
from harness_ext.compare.sections import build_sections, trace_tokens


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dq compare",
        description="Paired significance tests between lm-eval runs written with --log_samples.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="lm-eval output dir or results_*.json")
    p.add_argument("--baseline", metavar="LABEL", help="compare every run against this one")
    p.add_argument("--labels", nargs="+", metavar="LABEL", help="one label per RUN")
    p.add_argument("--out", metavar="DIR", help="write report.md, comparisons.csv/.json, plots")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level; CIs are at 1 - alpha")
    p.add_argument("--iterations", type=int, default=10_000, help="bootstrap/permutation draws (more when needed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--filter", metavar="NAME", help="lm-eval filter to compare (default: the only one, else strict-match)"
    )
    p.add_argument("--intersect", action="store_true", help="compare only the docs all runs share")
    p.add_argument("--mid-p", action="store_true", help="mid-p McNemar instead of exact")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument(
        "--by",
        choices=BYS,
        help="generalization report: each decomposer (solver, run) against --reference in every cell it meets",
    )
    p.add_argument("--reference", metavar="LABEL", help="with --by: the reference decomposer/solver name or run label")
    p.add_argument(
        "--trained-on",
        action="append",
        default=[],
        metavar="ENTRY=TASK",
        help="with --by: mark an entry's training task",
    )
    return p


def _generalize(args, labels: list[str], configs: list[Config]) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(by, reference) and trained-on marks from the command line, checked against the runs."""
    if args.reference and not args.by:
        raise RunError("--reference needs --by decomposer|solver|task")
    trained = {}
    for text in args.trained_on:
        entry, sep, task = text.partition("=")
        if not sep or not entry or not task:
            raise RunError(f"--trained-on expects ENTRY=TASK, got {text!r}")
        trained[entry] = task
    if not args.by:
        return [], trained
    if not args.reference:
        raise RunError(f"--by {args.by} needs --reference (one of: {', '.join(labels)})")
    ref = args.reference
    if args.by != "task" and ref in labels:  # a run label stands for its decomposer (solver)
        ref = getattr(next(c for c in configs if c.label == ref), args.by) or ref
    names = labels if args.by == "task" else [getattr(c, args.by) for c in configs]
    if ref not in names:
        raise RunError(
            f"--reference {args.reference!r} is not a {'run label' if args.by == 'task' else args.by} of these runs; "
            f"they have: {', '.join(map(str, names))}"
        )
    return [(args.by, ref)], trained


def _sections(args, result):
    configs = [Config(r.label, r.decomposer, r.solver) for r in result.runs]
    refs, trained = _generalize(args, [r.label for r in result.runs], configs)
    tasks = dict.fromkeys(s.task for s in result.summaries)
    paths = {t: {r.label: r.path for r in result.runs} for t in tasks}
    spend = {}
    for r in result.runs:
        for task, tokens in trace_tokens(r.path).items():
            spend[(task, r.label)] = {"tokens": tokens, "flops": None, "usd": None}
    return build_sections(result, configs, paths, spend, refs, trained, min(args.iterations, 4000), args.seed)


def main(argv: list[str] | None = None) -> int:
    args = parse_argv(build_parser(), argv)
    if isinstance(args, int):  # usage or help was printed
        return args
    from harness_ext.compare import report as rep  # matplotlib is only needed past here
    from harness_ext.compare import sections_md

    try:
        result = compare_runs(
            args.runs,
            labels=args.labels,
            baseline=args.baseline,
            alpha=args.alpha,
            iterations=args.iterations,
            seed=args.seed,
            correction=args.correction,
            intersect=args.intersect,
            mid_p=args.mid_p,
            filter=args.filter,
        )
        sec = _sections(args, result)
        for note in result.notes + sec.notes:
            print(f"dq compare: note: {note}", file=sys.stderr)
        print(rep.markdown_tables(result))
        extra = sections_md.markdown(sec, {})
        if extra:  # a blank line: the tables' footnote must not run into the next heading
            print(f"\n{extra}")
        if args.out:
            rep.write_report(result, args.out)
            sections_md.write(sec, Path(args.out), "Ranks and generalization")
            print(f"dq compare: wrote report to {args.out}", file=sys.stderr)
    except (RunError, rep.ReportError) as exc:
        print(f"dq compare: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
