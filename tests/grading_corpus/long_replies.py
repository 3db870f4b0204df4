"""``python -m tests.grading_corpus.long_replies``: extraction time on degenerate 20,000-character
replies (a small model looping until max_gen_toks), per family and filter; measured, not
asserted (tests/test_scoring.py checks the answers such replies read)."""

from __future__ import annotations

import os
import time

from dq_tasks.extract import FILTERS, extract

N = 20_000
OPTIONS = {"options": ["A)12", "B)13", "C)14", "D)15", "E)16"]}
FAMILIES = ("number", "number_or_none", "letter", "yes_no", "span")


def replies(n: int = N) -> dict[str, str]:
    units = {
        "spaces": " ",
        "digits": "1",
        "commas": "1,",
        "digit-space": "1 ",
        "answer-is": "the answer is ",
        "bold": "**",
        "final-answer": "Final answer ",
        "enumerators": "1. 2. 3. ",
        "equals": "= ",
        "ops": "5 + ",
        "boxed": "\\boxed{",
        "dashes": "-$ ",
        "letters": "(A) B) option C ",
        "yesno": "yes no ",
        "words": "twenty one hundred and ",
        "newlines": "\n",
        "hashes": "#### ",
        "cannot": "cannot be not enough information is not ",
        "table": "| a | b |\n",
        "prose": "She sells 16 - 3 - 4 = 9 eggs and makes 9 * 2 = $18 dollars every day, so ",
        "sentence-no-end": "word ",
        "mixed": "2 1/2 ",
        "sci": "1e5 x 10^ ",
    }
    return {name: (unit * (n // len(unit) + 1))[:n] for name, unit in units.items()}


def main() -> None:
    timings = []
    for name, text in replies().items():
        for family in FAMILIES:
            for f in FILTERS:
                start = time.perf_counter()
                extract(text, family, f, OPTIONS)
                timings.append((time.perf_counter() - start, name, family, f))
    timings.sort(reverse=True)
    for seconds, name, family, f in timings[:5]:
        print(f"{1000 * seconds:8.1f} ms  {name:16} {family:15} {f}")
    total = sum(t[0] for t in timings)
    print(f"{len(timings)} extractions of {N:,}-character replies: {total:.2f} s; slowest {timings[0][0]:.2f} s")
    print(f"load {os.getloadavg()}, threads 1")


if __name__ == "__main__":
    main()
