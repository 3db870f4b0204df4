"""Answer extraction: the two lm-eval filters every dq task reports.

``strict-match`` reads the answer right after the *first* "The answer is" marker that is
followed by an answer of the task's kind (as lm-eval's gsm8k reads the first "#### <number>");
for numbers, an expression on that line counts by its result ("16 + 2 = 18" -> 18).
``flexible-extract`` takes the *last* candidate anywhere in the reply (lm-eval's gsm8k takes
the last number). Both first cut a run-on reply at a new prompt section ("\\nQuestion:"), the
same headers the task YAMLs list as stop sequences. Nothing here looks at the gold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from dq_tasks.answers import canonical, find_numbers, leading_value, number_matches, unwrap

FilterName = Literal["strict-match", "flexible-extract"]
Family = Literal["number", "number_or_none", "letter", "yes_no", "span"]
FILTERS: tuple[FilterName, ...] = ("strict-match", "flexible-extract")
INVALID = "[invalid]"  # lm-eval's regex filter writes the same when nothing matches
UNANSWERABLE = "None"  # GSM-Plus's gold for its "critical thinking" items

# "The answer is:" (colon optional, any case) or "Final answer:". A bare "Answer:" is not a
# marker: solvers write it after every sub-question.
MARKER = re.compile(r"\bthe\s+(?:final\s+)?answer\s+is\s*:?|\bfinal\s+answer\s*:", re.IGNORECASE)
# The prompts' own section headers: a reply that runs on into a new section is cut there.
SECTION_HEADERS = ("Question:", "Passage:", "Context:", "Options:", "Sub-questions:")
_RUN_ON = re.compile(r"\n[ \t]*(?:" + "|".join(re.escape(h) for h in SECTION_HEADERS) + ")")


def cut_run_on(text: str) -> str:
    match = _RUN_ON.search(text or "")
    return (text or "")[: match.start()] if match else text or ""


def marker_lines(text: str) -> list[str]:
    """The rest of the line after each marker, in order."""
    return [text[m.end() :].split("\n", 1)[0] for m in MARKER.finditer(text)]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


# --------------------------------------------------------------------------- unanswerable
# GSM-Plus's own evaluation (scripts/utils/extract_ans.py, extract_pred_ans_none) counts a reply
# as "None" when it says the information is missing; these are its phrases, plus "cannot be
# answered/determined" forms our prompt invites.
_UNANSWERABLE = re.compile(
    r"\bnone\b|not? (?:provide|specify|mention)|doesn't (?:provide|specify|mention)|"
    r"(?:can ?not|can't|cannot) (?:be )?(?:provide|calculate|determine|answer)(?:d|ed)?|"
    r"(?:don't|do not) (?:know|have enough)|not enough information|insufficient information|"
    r"missing (?:necessary )?information|does not provide enough information",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- numbers
def strict_number(text: str, allow_none: bool = False) -> str:
    for line in marker_lines(text):
        value = leading_value(line)
        if value is not None:
            return canonical(value)
        if allow_none and _UNANSWERABLE.search(unwrap(line)):
            return UNANSWERABLE
    return INVALID


def flexible_number(text: str, allow_none: bool = False) -> str:
    plain = unwrap(text)
    numbers = number_matches(plain)
    last = (numbers[-1].start(), canonical(find_numbers(numbers[-1].group(0))[0])) if numbers else None
    if allow_none:
        nones = list(_UNANSWERABLE.finditer(plain))
        if nones and (last is None or nones[-1].start() > last[0]):
            return UNANSWERABLE
    return last[1] if last else INVALID


# --------------------------------------------------------------------------- letters (AQuA)
_LETTER_HEAD = re.compile(
    r"^(?:option|choice)?\s*(?:\(([A-Ea-e])\)|([A-Ea-e])\)|([A-Ea-e])(?=\s*$|[.,:;!]|\s+[^A-Za-z\s]|\s+is\b))",
    re.IGNORECASE,
)
_LETTER_ANYWHERE = re.compile(
    r"\(([A-E])\)|\b([A-E])\)|\b(?:option|choice)\s*\(?([A-Ea-e])\b|\\boxed\{([A-E])\}|\*\*([A-E])\*\*"
)


def _head_letter(line: str) -> str | None:
    m = _LETTER_HEAD.match(unwrap(line).strip(" :*\t\"'"))
    return next(g for g in m.groups() if g).upper() if m else None


def _letter_by_value(text: str, options: Sequence[str]) -> str | None:
    values = find_numbers(unwrap(text))
    if not values:
        return None
    hits = [o[0] for o in options if o[:1] in "ABCDE" and find_numbers(unwrap(o[2:]))[:1] == [values[0]]]
    return hits[0] if len(hits) == 1 else None


def strict_letter(text: str, options: Sequence[str] = ()) -> str:
    """First marker followed by an option: "C", "c", "(c)", "C)", "option C", "C: $67.40";
    "A total of 22" is the article, and then its number may still name exactly one option."""
    for line in marker_lines(text):
        letter = _head_letter(line) or _letter_by_value(line.split("\n")[0], options)
        if letter:
            return letter
    return INVALID


def flexible_letter(text: str, options: Sequence[str] = ()) -> str:
    candidates = [(m.start(), next(g for g in m.groups() if g).upper()) for m in _LETTER_ANYWHERE.finditer(text)]
    candidates += [(m.start(), letter) for m in MARKER.finditer(text) if (letter := _head_letter(text[m.end() :]))]
    lines = _lines(text)
    if lines and (whole := _head_letter(lines[-1])) and len(lines[-1].strip(" .*()")) == 1:
        candidates.append((len(text), whole))
    if candidates:
        return max(candidates)[1]
    by_value = _letter_by_value(lines[-1], options) if lines else None
    return by_value or INVALID


# --------------------------------------------------------------------------- yes / no
_YES_NO = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)
# "yes or no", "yes/no", "not yes", "neither yes nor no" state no answer.
_NOT_AN_ANSWER = re.compile(
    r"\b(?:yes|no|true|false)\s*(?:or|/)\s*(?:yes|no|true|false)\b|\b(?:not|neither|nor)\s+(?:a\s+)?(?:yes|no|true|false)\b",
    re.IGNORECASE,
)


def _yes_no_words(text: str) -> list[tuple[int, str]]:
    masked = _NOT_AN_ANSWER.sub(lambda m: " " * len(m.group(0)), text)
    return [(m.start(), "yes" if m.group(1).lower() in ("yes", "true") else "no") for m in _YES_NO.finditer(masked)]


def strict_yes_no(text: str) -> str:
    for line in marker_lines(text):
        words = _yes_no_words(line)
        if words:
            return words[0][1]
    return INVALID


def flexible_yes_no(text: str) -> str:
    words = _yes_no_words(text)
    return words[-1][1] if words else INVALID


# --------------------------------------------------------------------------- short spans
# The end of the answer's sentence ("3 touchdowns. I hope ..."), not an abbreviation ("St. Louis").
_SENTENCE_END = re.compile(r"(?<=[a-z0-9]{2})[.!?]\s+(?=[A-Z])")


def clean_span(text: str) -> str:
    span = _SENTENCE_END.split(unwrap(text), 1)[0]
    return span.strip().strip("*\"'`").strip().rstrip(".!").strip()


def strict_span(text: str) -> str:
    """The first marker's line; without a marker the reply's first line (a bare short answer)."""
    lines = marker_lines(text) or _lines(text)[:1]
    return clean_span(lines[0]) if lines else ""


def flexible_span(text: str) -> str:
    lines = marker_lines(text) or _lines(text)[-1:]
    return clean_span(lines[-1]) if lines else ""


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
