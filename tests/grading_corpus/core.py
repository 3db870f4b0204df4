"""The grading corpus: realistic replies on real docs of the suite, each labelled with the
answer a careful grader reads, and the agreement of each filter with those labels.

Replies are generated from varied templates (the style of small chat models: markdown
headings, bold markers, step lists, closing pleasantries) around real questions, passages,
options, facts and worked solutions read from ``$DQ_DATA_DIR`` at run time; nothing from the
data is committed. A label is what the reply *states* (right or wrong against the gold), fixed
by the template that wrote it, never by the extractor. ``label`` is ``INVALID`` where a careful
grader reads no answer ("yes or no").
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from dq_tasks.answers import canonical, parse_number
from dq_tasks.drop_eval import normalize_answer
from dq_tasks.extract import INVALID, UNANSWERABLE, Family

SEED = 20261201
FAMILIES = ("numeric", "letter", "yes_no", "span")


@dataclass(frozen=True)
class Case:
    """One labelled reply. ``marker``: the reply states its answer after a marker (so strict
    can read it); ``cls``: the class of reply it exercises (issue classes and earlier ones)."""

    family: str
    cls: str
    reply: str
    label: str
    marker: bool
    kind: Family
    doc: dict = field(default_factory=dict, hash=False, compare=False)


def letter_case(cls: str, reply: str, label: str, marker: bool, doc: dict) -> Case:
    """A multiple-choice reply: the doc's options and answers go with it (the letter filter's)."""
    return Case(
        "letter", cls, reply, label, marker, "letter", {"options": list(doc["options"]), "answers": doc["answers"]}
    )


def agrees(case: Case, answer: str) -> bool:
    """Whether an extracted answer is the one the grader reads (numbers by value, spans under
    DROP's official normalisation)."""
    if case.label == INVALID or answer == INVALID or UNANSWERABLE in (case.label, answer):
        return answer == case.label
    if case.kind in ("number", "number_or_none"):
        return parse_number(answer) is not None and parse_number(answer) == parse_number(case.label)
    if case.kind == "span":
        return normalize_answer(answer) == normalize_answer(case.label)
    return answer == case.label


def num(value: Fraction | int | float) -> str:
    return (
        canonical(Fraction(value).limit_denominator(10**6)) if isinstance(value, float) else canonical(Fraction(value))
    )


def money(value: int) -> str:
    return f"${value:,}"


def question_numbers(question: str) -> list[int]:
    return [int(x.replace(",", "")) for x in re.findall(r"\b\d{1,3}(?:,\d{3})+\b|\b\d+\b", question)][:6]


_CALC = re.compile(r"<<[^>]*>>")


def solution_lines(doc: dict) -> list[str]:
    """A GSM8K worked solution as a model would write it (no calculator annotations)."""
    text = _CALC.sub("", doc.get("solution", ""))
    return [line.strip() for line in text.split("\n") if line.strip() and not line.startswith("####")]


Builder = Callable[[dict, random.Random], Iterable[Case]]


def build(docs: list[dict], builders: list[Builder], per_builder: int, seed: int) -> list[Case]:
    """``per_builder`` docs drawn for every builder (template class), deterministically."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for builder in builders:
        for doc in rng.sample(docs, min(per_builder, len(docs))):
            cases.extend(builder(doc, rng))
    return cases
