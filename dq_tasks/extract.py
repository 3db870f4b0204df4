"""Answer extraction: the two lm-eval filters every dq task reports.

``strict-match`` reads the answer right after the *first* marker that is followed by an answer
of the task's kind (as lm-eval's gsm8k reads the first "#### <number>"); the marker grammar is
in ``dq_tasks/markers.py`` (headings, bold, "Final answer -", the answer on the next line). For
numbers the answer is the value its line concludes with ("16 + 2 = 18" -> 18), and a numbered
list that begins right after the marker counts by its last item, not as "1".
``flexible-extract`` starts from strict's answer when the reply states one (so it never scores
a reply lower, and closing chatter cannot replace it); otherwise it takes the last *completed*
candidate: no list enumerator, no operand of an expression cut off mid-way, nothing inside a
follow-up question or closing chatter. Both first cut a run-on reply at a new prompt section
("\\nQuestion:"). Nothing here looks at the gold.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from dq_tasks.answers import Number, canonical, leads_with_number, number_matches, stated_value, unwrap
from dq_tasks.choices import flexible_letter, flexible_yes_no, strict_letter, strict_yes_no
from dq_tasks.markers import (
    CANNOT_ANSWER,
    INVALID,
    MARKER,
    SECTION_HEADERS,
    Marked,
    covering,
    cut_run_on,
    first_marked,
    first_sentence,
    questions_and_chatter,
    sentences,
)

FilterName = Literal["strict-match", "flexible-extract"]
Family = Literal["number", "number_or_none", "letter", "yes_no", "span"]
FILTERS: tuple[FilterName, ...] = ("strict-match", "flexible-extract")
UNANSWERABLE = "None"  # GSM-Plus's gold for its "critical thinking" items

__all__ = ["MARKER", "SECTION_HEADERS", "INVALID", "UNANSWERABLE", "FILTERS", "extract", "cut_run_on"]


# --------------------------------------------------------------------------- unanswerable
# GSM-Plus critical thinking: the statement grammar is markers.CANNOT_ANSWER.
_UNANSWERABLE = CANNOT_ANSWER
_NONE_ANSWER = re.compile(r"^\W*(?:none\b(?!\s+of\b)|none\s+of\s+the\s+above\b|n/a\b)", re.IGNORECASE)


# --------------------------------------------------------------------------- numbers
# A list enumerator: "1." / "2)" / "Step 3:" at a line start or after a sentence end, or inline
# before a capitalised item ("... 228 wheels 2. The total ..."); a "1." at the very end is one too.
_ENUMERATOR = re.compile(
    r"(?:^|(?<=\n)|(?<=[.!?:]\s))[ \t]*(?:[-*][ \t]*)?(?:\*\*)?"
    r"(?:step[ \t]*(\d{1,2})[.):]?|(\d{1,2})[.)](?=[ \t]+\S|[ \t]*$))"
    r"|(?<=\s)(\d{1,2})[.)](?=[ \t]+[A-Z])",
    re.IGNORECASE,
)


def _index(m: re.Match[str]) -> int:
    return int(m.group(1) or m.group(2) or m.group(3))


def enumerators(text: str, first_list: bool = False) -> list[re.Match[str]]:
    """Enumerators of lists counted 1, 2, 3, ... ("3. I hope" alone is an answer, not a list);
    ``first_list``: only the first list's."""
    found: list[re.Match[str]] = []
    for m in _ENUMERATOR.finditer(text):
        if _index(m) == (_index(found[-1]) + 1 if found else 1):
            found.append(m)
        elif _index(m) == 1 and not m.group(3):
            if first_list and found:
                break
            found = [*found, m] if not first_list else [m]
    return found


def _list_conclusion(after: str, weak: bool) -> str | None:
    """When a numbered list begins right after the marker, its last item (the list concludes
    with that item's value); None when the answer is not such a list. After a weak marker
    ("Answer: 1. Max has ...", the solvers' sub-answer lists) a "1." is always a list."""
    block = after.split("\n\n", 1)[0]
    bullets = _BULLETS.match(block)
    if bullets and bullets.group(0).count("\n") >= 1:  # "- She sells 9 eggs\n- She earns 9 * 2 = $18"
        return _item_value(bullets.group(0).rstrip("\n").rsplit("\n", 1)[-1])
    items = enumerators(block, first_list=True)
    if not items or block[: items[0].start()].strip(" \t*:_"):
        return None
    first_item = block[items[0].end() : items[1].start() if len(items) > 1 else None]
    if len(items) == 1 and not (weak or items[0].group(1)) and not number_matches(unwrap(first_item)):
        return None  # "1. I hope this helps": the answer 1
    return _item_value(block[items[-1].end() :].split("\n", 1)[0])


_BULLETS = re.compile(r"(?:[ \t]*[-*•][ \t]+[^\n]*(?:\n|$))+")


def _item_value(item: str) -> str:
    """A list item's answer: its last sentence that computes ("= 16"), else its first sentence."""
    parts = [item[a:b] for a, b in sentences(item)]
    computing = [p for p in parts if "=" in p]
    return computing[-1] if computing else item


# "Answer: 2. How many pens does Ola have?": the enumerator of a listed question, no answer.
_LISTED_QUESTION = re.compile(r"^[\s*]*\d{1,2}[.)]\s+[^.!?\n]*\?")
_LISTED_QUESTIONS = re.compile(r"(?:^|(?<=\n)|(?<=[.!?:]\s))[ \t]*\d{1,2}[.)][ \t]+[^.!?\n]*\?")


def _number_at(mark: Marked, allow_none: bool) -> str | None:
    if _LISTED_QUESTION.match(mark.line):
        return None
    listed = _list_conclusion(mark.after, mark.weak)
    line = listed if listed is not None else mark.line
    value = stated_value(line)
    if allow_none and (value is None or not leads_with_number(line)):
        clause = first_sentence(unwrap(line))
        if _NONE_ANSWER.match(clause) or _UNANSWERABLE.search(unwrap(line)):
            return UNANSWERABLE
    return canonical(value) if value is not None else None


def strict_number(text: str, allow_none: bool = False) -> str:
    return first_marked(text, lambda m: _number_at(m, allow_none)) or INVALID


# A reply cut off inside an expression ("... Then total = 5 + ", "4 balloons = 4 balloons x 2 ="):
# its last sentence holds no answer, except a result that an operator-bearing left side
# completed before the cut ("9 * 2 = 18 + " still says 18).
_OPERATOR = re.compile(r"[+\-−*/×÷^]")


def _unfinished_tail(plain: str) -> tuple[int, int] | None:
    stripped = plain.rstrip()
    if not stripped or stripped[-1] not in "+-−*/×÷=(":
        return None
    start = next((a for a, b in reversed(sentences(stripped))), 0)
    dangling = stripped[start:].rstrip("=( \t")
    eq = dangling.rfind("=")
    if eq >= 0 and _OPERATOR.search(dangling[:eq]) and number_matches(dangling[:eq]):
        first = number_matches(dangling[eq + 1 :])
        start += eq + 1 + (first[0].end if first else 0)
    return (start, len(plain))


def flexible_number(text: str, allow_none: bool = False) -> str:
    strict = strict_number(text, allow_none)
    if strict != INVALID:
        return strict
    plain = unwrap(text)
    skip = questions_and_chatter(plain) + [(m.start(), m.end()) for m in enumerators(plain)]
    skip += [(m.start(), m.end()) for m in _LISTED_QUESTIONS.finditer(plain)]
    if (tail := _unfinished_tail(plain)) is not None:
        skip.append(tail)
    skipped = covering(skip)
    numbers = [n for n in number_matches(plain) if not skipped(n.start) and not skipped(n.end - 1)]
    if allow_none:
        nones = [m.start() for m in _UNANSWERABLE.finditer(plain) if not skipped(m.start())]
        nones += [len(plain)] if _NONE_ANSWER.match(plain.strip().rsplit("\n", 1)[-1]) else []
        if nones and (not numbers or nones[-1] > numbers[-1].start):
            return UNANSWERABLE
    return canonical(_concluded(plain, numbers).value) if numbers else INVALID


def _concluded(plain: str, numbers: list[Number]) -> Number:
    """The last sentence's answer: the result after its last "=" ("40 / 5 = 8 rows of 5
    stars" -> 8), else its last number."""
    last = numbers[-1]
    start, end = next(((a, b) for a, b in sentences(plain) if a <= last.start < b), (0, len(plain)))
    eq = plain.rfind("=", start, last.start + 1)
    after = [n for n in numbers if start <= n.start < end and n.start > eq] if eq >= 0 else []
    return after[0] if after else last


# --------------------------------------------------------------------------- short spans
# An explanation after the span: "Kyle Orton, because the passage says so", ", which ...".
# A run of spaces is entered at its first space only ("(?<!\s)"): 20,000 spaces stay linear.
_EXPLANATION = re.compile(r"(?:,\s*|(?<!\s)\s+)because\b|,\s*(?:since|as|which|who|where|when)\b", re.IGNORECASE)


_TRAILING_ASIDE = re.compile(r"\([^()]*\)\s*$")  # no leading \s*: it would rescan every run of spaces


def clean_span(text: str) -> str:
    span = _EXPLANATION.split(first_sentence(unwrap(text)), 1)[0]
    span = _TRAILING_ASIDE.sub("", span).rstrip() or span  # "David Dinkins (1990–1993)" -> David Dinkins
    previous = None
    while previous != span:  # '"91.5".' -> 91.5
        previous, span = span, span.strip().strip("*\"'`“”").rstrip(".!").strip()
    return span


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _span_at(mark: Marked) -> str | None:
    return clean_span(mark.line) or None


def strict_span(text: str) -> str:
    """The first marker's answer to its sentence end; without a marker the reply's first line
    (a bare short answer)."""
    marked = first_marked(text, _span_at)
    if marked is not None:
        return marked
    lines = _lines(text)
    return clean_span(lines[0]) if lines else ""


# A reply that opens with a bare short answer ("Paris\nThe capital of France is ..."): a few
# words, no label ("Step 1:", "**Solution:**"), no opener ("Sure!", "Let me think.").
_OPENER = re.compile(
    r"^\W*(?:sure|okay|ok|well|alright|hmm+|great|here|there|this|that|it|let|i|we|so|to|first|step|solution|explanation)\b",
    re.IGNORECASE,
)


def _bare_answer(line: str) -> bool:
    span = clean_span(line)
    return 0 < len(span.split()) <= 6 and not line.rstrip(" *").endswith(":") and not _OPENER.match(span)


def flexible_span(text: str) -> str:
    """strict's answer when a marker states one, or when the reply opens with a bare short
    answer (then flexible reads it too, so never lower than strict); else the last line that is
    no follow-up question or closing chatter ("I hope this helps!")."""
    marked = first_marked(text, _span_at)
    if marked is not None:
        return marked
    answers = [part for part in map(_answer_part, _lines(text)) if any(ch.isalnum() for ch in part)]
    if answers and _bare_answer(answers[0]):
        return clean_span(answers[0])
    return clean_span(answers[-1]) if answers else ""


def _answer_part(line: str) -> str:
    """``line`` without its follow-up questions and chatter."""
    skipped = covering(questions_and_chatter(line))
    return "".join(ch for i, ch in enumerate(line) if not skipped(i)).strip()


# --------------------------------------------------------------------------- dispatch
def extract(text: str, family: Family, filter_name: FilterName, doc: dict | None = None) -> str:
    """The answer ``filter_name`` reads from one reply, as a string (INVALID when none)."""
    text = cut_run_on(text)
    strict = filter_name == "strict-match"
    options = (doc or {}).get("options") or ()
    readers: dict[str, Callable[[str], str]] = {
        "number": strict_number if strict else flexible_number,
        "number_or_none": lambda t: (strict_number if strict else flexible_number)(t, allow_none=True),
        "letter": lambda t: (strict_letter if strict else flexible_letter)(t, options),
        "yes_no": strict_yes_no if strict else flexible_yes_no,
        "span": strict_span if strict else flexible_span,
    }
    return readers[family](text)
