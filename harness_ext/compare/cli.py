"""`dq compare` command line.

dq compare RUN RUN [RUN ...] [--baseline LABEL] [--labels ...] [--out DIR]
           [--alpha 0.05] [--iterations 10000] [--seed S] [--filter NAME]
           [--intersect] [--mid-p] [--correction {holm,bh}]
"""

from __future__ import annotations

import argparse
import sys

from harness_ext.argv import parse_argv
from harness_ext.compare.api import CORRECTIONS, compare_runs
from harness_ext.compare.runs import RunError


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
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse_argv(build_parser(), argv)
    if isinstance(args, int):  # usage or help was printed
        return args
    from harness_ext.compare import report as rep  # matplotlib is only needed past here

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
        for note in result.notes:
            print(f"dq compare: note: {note}", file=sys.stderr)
        print(rep.markdown_tables(result))
        if args.out:
            rep.write_report(result, args.out)
            print(f"dq compare: wrote report to {args.out}", file=sys.stderr)
    except (RunError, rep.ReportError) as exc:
        print(f"dq compare: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
