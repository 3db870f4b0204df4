"""Grading corpus: ``corpus()`` builds the labelled replies, ``agreement()`` scores the filters.

``python -m tests.grading_corpus --report`` prints the agreement table of dq_tasks/TASKS.md.
"""

from __future__ import annotations

from collections.abc import Callable

from dq_tasks.extract import FILTERS, extract
from dq_tasks.registry import load_docs
from tests.grading_corpus import heldout, heldout4, letters, numeric, spans, yes_no
from tests.grading_corpus.core import FAMILIES, SEED, Case, agrees, build

PER_BUILDER = {"numeric": 30, "letter": 38, "yes_no": 40, "span": 40}


def corpus() -> tuple[Case, ...]:
    gsm8k = load_docs("gsm8k_dq")
    plus = load_docs("gsmplus_dq")
    critical = [d for d in plus if d["answers"][0] == "None"]
    answerable = [d for d in plus if d["answers"][0].isdigit()]
    drop = [d for d in load_docs("drop_dq") if 0 < len(d["answers"][0].split()) <= 4]
    cases = build(gsm8k, numeric.BUILDERS, PER_BUILDER["numeric"], SEED)
    cases += build(critical, [numeric.unanswerable], 45, SEED + 1)
    cases += build(answerable, [numeric.number_mentions_none], 25, SEED + 2)
    cases += build(load_docs("aqua_dq"), letters.BUILDERS, PER_BUILDER["letter"], SEED + 3)
    cases += build(load_docs("strategyqa_dq"), yes_no.BUILDERS, PER_BUILDER["yes_no"], SEED + 4)
    cases += build(drop, spans.BUILDERS, PER_BUILDER["span"] - 10, SEED + 5)
    cases += build(load_docs("bamboogle_dq"), spans.BUILDERS, 10, SEED + 6)
    cases += build(gsm8k, [heldout.numeric], 60, SEED + 7)
    cases += build(load_docs("aqua_dq"), [heldout.letter], 60, SEED + 8)
    cases += build(load_docs("strategyqa_dq"), [heldout.yes_no], 60, SEED + 9)
    cases += build(drop, [heldout.span], 60, SEED + 10)
    cases += build(gsm8k, [heldout.numeric2], 60, SEED + 11)
    cases += build(load_docs("aqua_dq"), [heldout.letter2], 60, SEED + 12)
    cases += build(load_docs("strategyqa_dq"), [heldout.yes_no2], 60, SEED + 13)
    cases += build(drop, [heldout.span2], 60, SEED + 14)
    cases += build(critical, [heldout.unanswerable3], 40, SEED + 15)
    cases += build(answerable, [heldout.none_mention3], 20, SEED + 16)
    cases += heldout4_cases(gsm8k, plus, critical, drop)
    return tuple(cases)


def heldout4_cases(gsm8k: list[dict], plus: list[dict], critical: list[dict], drop: list[dict]) -> list[Case]:
    """The fourth held-out batch: GSM8K, SVAMP and GSM-Plus numbers, GSM-Plus "None", AQuA,
    StrategyQA, DROP and Bamboogle."""
    numbers = [d for d in plus if d["answers"][0] != "None"]
    cases = build(gsm8k, [heldout4.numeric4], 60, SEED + 17)
    cases += build(load_docs("svamp_dq"), [heldout4.numeric4], 40, SEED + 18)
    cases += build(numbers, [heldout4.numeric4], 40, SEED + 19)
    cases += build(critical, [heldout4.unanswerable4], 40, SEED + 20)
    cases += build(numbers, [heldout4.none_mention4], 20, SEED + 21)
    cases += build(load_docs("aqua_dq"), [heldout4.letter4], 100, SEED + 22)
    cases += build(load_docs("strategyqa_dq"), [heldout4.yes_no4], 100, SEED + 23)
    cases += build(drop, [heldout4.span4], 60, SEED + 24)
    cases += build(load_docs("bamboogle_dq"), [heldout4.span4], 40, SEED + 25)
    return cases


Extractor = Callable[[str, str, str, dict], str]


def readings(cases: tuple[Case, ...], extractor: Extractor = extract) -> dict[str, list[bool]]:
    """Per filter, whether each case's extracted answer is the grader's."""
    return {f: [agrees(c, extractor(c.reply, c.kind, f, c.doc)) for c in cases] for f in FILTERS}


def agreement(cases: tuple[Case, ...], extractor: Extractor = extract) -> dict[tuple[str, str, str], float]:
    """(family, filter, "all" | "marker") -> share of replies where the filter reads the label."""
    read = readings(cases, extractor)
    table = {}
    for family in FAMILIES:
        for subset in ("all", "marker"):
            idx = [i for i, c in enumerate(cases) if c.family == family and (subset == "all" or c.marker)]
            for f in FILTERS:
                table[(family, f, subset)] = sum(read[f][i] for i in idx) / len(idx) if idx else float("nan")
    return table


def report(cases: tuple[Case, ...], extractor: Extractor = extract) -> str:
    table = agreement(cases, extractor)
    rows = [
        "| family | replies (with marker) | strict-match, all | flexible-extract, all | strict-match, marker | flexible-extract, marker |",
        "|---|---|---|---|---|---|",
    ]
    for family in FAMILIES:
        n = sum(c.family == family for c in cases)
        m = sum(c.family == family and c.marker for c in cases)
        cells = [f"{100 * table[(family, f, s)]:.1f} %" for s in ("all", "marker") for f in FILTERS]
        rows.append(f"| {family} | {n} ({m}) | " + " | ".join(cells) + " |")
    return "\n".join(rows)
