"""``python -m tests.grading_corpus --report [--misses]``: the agreement table (and misses)."""

from __future__ import annotations

import argparse

from dq_tasks.extract import FILTERS, extract
from tests.grading_corpus import corpus, readings, report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.grading_corpus")
    parser.add_argument("--report", action="store_true", help="print the agreement table")
    parser.add_argument("--misses", action="store_true", help="print every reply a filter misreads")
    parser.add_argument("--only", metavar="PREFIX", help='only the classes starting with PREFIX, e.g. "held-out 4"')
    args = parser.parse_args()
    cases = tuple(c for c in corpus() if not args.only or c.cls.startswith(args.only))
    if args.report or not args.misses:
        print(report(cases))
    if args.misses:
        read = readings(cases)
        for f in FILTERS:
            for case, ok in zip(cases, read[f]):
                if not ok:
                    got = extract(case.reply, case.kind, f, case.doc)
                    print(f"--- {f} | {case.family} | {case.cls} | label {case.label!r} | read {got!r}\n{case.reply}")


if __name__ == "__main__":
    main()
