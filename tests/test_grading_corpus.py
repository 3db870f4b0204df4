"""The grading corpus (tests/grading_corpus): each filter's agreement with a careful grader,
per answer family, and every class of issue 26 (and the earlier rounds) read exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DQ_DATA_DIR", str((REPO / ".." / "shared" / "data").resolve()))

from dq_tasks.extract import INVALID, extract  # noqa: E402
from tests.grading_corpus import agreement, corpus, readings, report  # noqa: E402
from tests.grading_corpus.core import FAMILIES  # noqa: E402

pytestmark = pytest.mark.unit
S, F = "strict-match", "flexible-extract"
# Lower bounds a little under the figures in dq_tasks/TASKS.md (strict "all" counts the replies
# without a marker, which strict reads as [invalid] by design).
FLOORS = {
    ("numeric", S, "all"): 0.65, ("numeric", F, "all"): 0.90, ("numeric", S, "marker"): 0.90, ("numeric", F, "marker"): 0.90,
    ("letter", S, "all"): 0.60, ("letter", F, "all"): 0.98, ("letter", S, "marker"): 0.98, ("letter", F, "marker"): 0.98,
    ("yes_no", S, "all"): 0.62, ("yes_no", F, "all"): 0.98, ("yes_no", S, "marker"): 0.98, ("yes_no", F, "marker"): 0.98,
    ("span", S, "all"): 0.95, ("span", F, "all"): 0.87, ("span", S, "marker"): 0.98, ("span", F, "marker"): 0.98,
}  # fmt: skip
# Classes a filter is not meant to read: replies without a marker (strict) and the "hard" ones.
NOT_EXACT = ("hard:",)


@pytest.fixture(scope="module")
def cases():
    return corpus()


def test_corpus_has_300_replies_per_family(cases) -> None:
    for family in FAMILIES:
        assert sum(c.family == family for c in cases) >= 300, family


def test_agreement_floors(cases) -> None:
    table = agreement(cases)
    low = {key: round(table[key], 3) for key, floor in FLOORS.items() if table[key] < floor}
    assert not low, f"agreement below its floor: {low}\n{report(cases)}"


def test_flexible_never_below_strict(cases) -> None:
    """Where strict reads an answer after a marker, flexible reads the same one (so it never
    scores lower). Spans without a marker differ by design: strict the first line, flexible the
    last."""
    for c in cases:
        strict = extract(c.reply, c.kind, S, c.doc)
        if strict != INVALID and (c.kind != "span" or c.marker):
            assert extract(c.reply, c.kind, F, c.doc) == strict, c.reply


def test_every_class_read_exactly(cases) -> None:
    read = readings(cases)
    misses = []
    for i, c in enumerate(cases):
        if c.cls.startswith(NOT_EXACT):
            continue
        if not read[F][i] or (c.marker and not read[S][i]):
            misses.append((c.cls, c.label, c.reply[-160:]))
    assert not misses, misses[:5]


def test_classes_cover_the_issue(cases) -> None:
    classes = {c.cls for c in cases}
    for needed in (
        "marker: heading/bold/dash",
        "marker: answer on next line",
        "marker: expression ends in its result",
        "marker: numbered list is not 1",
        "marker: sign, currency, separators",
        "flexible: closing chatter after marker",
        "flexible: last completed answer",
        "letter: 'Answer: B'",
        "letter: 'The correct answer is B.'",
        "letter: stated option, then other options discussed",
        "letter: marker expression evaluates to an option",
        "letter: later letters do not override",
        "yes/no: stated answer beats justification words",
        "yes/no: idioms and negations",
        "gsm-plus: cannot be answered",
        "gsm-plus: number with 'none' elsewhere",
        "span: one-character answer, then a sentence",
        "span: polite trailing sentence",
    ):
        assert needed in classes, needed


def test_hard_replies_stay_counted(cases) -> None:
    """The corpus keeps replies the filters misread, so its figures are not 100 % by construction."""
    read = readings(cases)
    hard = [i for i, c in enumerate(cases) if c.cls.startswith("hard:")]
    assert hard and not all(read[F][i] for i in hard)


def test_review_batch_per_family(cases) -> None:
    """The fourth held-out batch (heldout4.py) holds at least 40 replies of every family."""
    for family in FAMILIES:
        assert sum(c.family == family and c.cls.startswith("held-out 4") for c in cases) >= 40, family


_SCORERS = {"number": "numeric", "number_or_none": "numeric_plus", "letter": "letter", "yes_no": "yes_no"}


def test_flexible_scores_at_least_strict(cases) -> None:
    """The invariant on scores, with the task metrics: against the grader's label (numbers,
    letters, yes/no) and the doc's golds (DROP EM/F1 and Bamboogle acc/EM for spans). Span
    replies without a marker are left out: strict reads their first line by design, which may
    share tokens with the gold where the reply's stated last answer does not."""
    from dq_tasks.scoring import score_reply

    for c in cases:
        if c.label == INVALID or (c.kind == "span" and not c.marker):
            continue
        doc = c.doc if c.kind == "span" else {**c.doc, "answers": [c.label]}
        for scorer in ("drop", "short") if c.kind == "span" else (_SCORERS[c.kind],):
            strict, flexible = (score_reply(doc, c.reply, scorer, name) for name in (S, F))  # type: ignore[arg-type]
            assert all(flexible[k] >= strict[k] for k in strict), (c.cls, c.reply[-200:])
