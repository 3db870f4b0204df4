"""Where a reply states its answer: the marker grammar, the answer segment after a marker, and
the sentences that are no answer (follow-up questions, closing chatter).

A marker is a *phrase* ("the answer is", "the final/correct answer is", "the correct option
is", "the answer should be"), a *label* ("Final answer:", "Final answer -", "Final answer =",
a line "Final Answer"), possibly styled as a markdown heading ("### Answer") or bold ("**Final
Answer**:"), a notation that states an answer ("\\boxed{18}", GSM8K's "#### 18"), or the phrase
after the answer ("1200 is the answer", "45.6 — that's my final answer"). A plain "Answer:" is a
*weak* marker: solvers write it after every sub-question, so it is only read when no strong
marker states an answer, and then the last one. The answer is the rest of the marker's line,
or the next non-empty line when the marker ends its line ("The answer is:\\n18").
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

INVALID = "[invalid]"  # lm-eval's regex filter writes the same when nothing matches
T = TypeVar("T")

# Optional markdown emphasis, then spaces: each run of spaces is matched by one [ \t]* only, so a
# reply of 10,000 spaces costs linear time (two adjacent [ \t]* would backtrack quadratically).
_STYLE = r"(?:(?:\*\*|__)[ \t]*)?"
_SEP = r"[ \t]*" + _STYLE + r"(?:(?::|[-–—](?=\s)|=)[ \t]*)?" + _STYLE
_HEAD = r"(?:^|(?<=\n))[ \t]*"
# "the answer is", "the final answer is", "the correct option is", "answer would/should be".
_PHRASE = (
    r"\b(?:the\s+)?(?:(?:final|correct|right)\s+)?(?:answer|option|choice)\s+"
    r"(?:is|would\s+be|will\s+be|should\s+be|must\s+be)\b[ \t]*" + _STYLE + ":?"
)
# "Final answer:", "**Final Answer**:", "Final answer -", "Final answer = 9", "### Answer", a
# line "Final Answer".
_LABEL = (
    rf"{_HEAD}#{{1,6}}[ \t]*{_STYLE}(?:the\s+)?(?:final\s+)?answer\b{_SEP}"
    rf"|{_STYLE}\bfinal\s+answer\b[ \t]*{_STYLE}(?::|=|[-–—](?=\s)){_SEP}"
    rf"|{_HEAD}{_STYLE}final\s+answer[ \t]*{_STYLE}(?=\n)"
    rf"|\*\*[ \t]*answer[ \t]*:?[ \t]*\*\*{_SEP}"
)
# The phrases and labels (what harness_ext.distill rewrites with a gold answer) ...
MARKER = re.compile(_PHRASE + "|" + _LABEL, re.IGNORECASE)
# ... and the notations that state an answer.
NOTATION = re.compile(rf"\\boxed\{{|{_HEAD}####[ \t]+(?=[-−$€£]?\d)")
# The same phrase after the answer: "So, 1200 is the answer.", "B is the correct answer.",
# "45.6 — that's my final answer."
REVERSE_MARKER = re.compile(
    r"(?:\bis\s+(?:the|my)|(?:[-–—,][ \t]*|\b)(?:that's|that\s+is|this\s+is)\s+(?:the|my))\s+"
    r"(?:(?:final|correct|right)\s+)?(?:answer|option|choice)\b",
    re.IGNORECASE,
)
_CONNECTIVE = re.compile(r"^[\s*_]*(?:(?:so|thus|hence|therefore|then|and|i\s+think|overall)\b[\s,:]*)*", re.IGNORECASE)
_PRONOUN = re.compile(r"^(?:this|that|it|which|what|there|here)$", re.IGNORECASE)
WEAK_MARKER = re.compile(r"\banswer[ \t]*:[ \t]*(?:\*\*|__)?", re.IGNORECASE)

# The prompts' own section headers: a reply that runs on into a new section is cut there.
SECTION_HEADERS = ("Question:", "Passage:", "Context:", "Options:", "Sub-questions:")
_RUN_ON = re.compile(r"\n[ \t]*(?:" + "|".join(re.escape(h) for h in SECTION_HEADERS) + ")")

# A sentence ends at . ! ? followed by space, unless the word before is an initial or a title
# ("J. K. Rowling", "St. Louis", "Mrs. Smith"); a one-digit answer ("3. I hope") does end one,
# and so does "**Demak**." once unwrapped to "Demak ." (the space is the bold marker's).
_ABBREVIATIONS = "".join(
    rf"(?<!\b{a})" for a in ("Mrs", "Mr", "Ms", "Dr", "Jr", "Sr", "St", "Mt", "Ft", "vs", "Inc", "Co")
)
SENTENCE_END = re.compile(r"(?:(?<=[a-z]{2})|(?<=[\d%)\]])|(?<=\bNo))" + _ABBREVIATIONS + r"[ \t]*[.!?]+(?=\s|$)")

# Closing chatter: the writer talks to the reader about the conversation, not the problem
# ("Let me know if you have 2 more questions", "I hope this helps!").
_CHATTER = re.compile(
    r"\b(?:I\s+)?hope\s+(?:this|that|it|you)\b|\b(?:I\s+)?(?:am|'m)\s+(?:glad|happy)\b|\blet\s+me\s+know\b"
    r"|\bfeel\s+free\b|\b(?:happy|glad)\s+to\s+help\b|\bgood\s+luck\b"
    r"|\b(?:you|your)\b(?=.*\b(?:questions?|help\w*|ask|know|need|like|want|further|more\s+problems?)\b)",
    re.IGNORECASE,
)


# A clear statement (GSM-Plus critical thinking; a StrategyQA reply that gives no yes/no) that the problem cannot be answered as posed.
# A grammar of that statement, not a list of replies: an inability ("cannot / impossible to /
# unable to" + a verb of finding out), missing information ("not enough / insufficient /
# missing / no" + information), something not given ("is not given", "does not say"), or an
# unknown, more information needed ("we need more information", "X is missing"). GSM-Plus's own evaluation (extract_pred_ans_none) counts the same replies as "None".
_KNOW = r"(?:determin|calculat|comput|answer|find|know|solv|say|tell|figur|work|deduc|infer|establish|giv|get|sure)\w*"
CANNOT_ANSWER = re.compile(
    r"\b(?:can\s?not|can't|could\s?n[o']t|unable\s+to|impossible\s+to|not\s+possible\s+to|no\s+way\s+(?:to|of))"
    rf"\s+(?:be\s+)?(?:\w+\s+)?{_KNOW}"
    r"|(?:\bnot\s+enough|n't\s+enough|\binsufficient|\bmissing|\bincomplete|\black(?:s|ing)?(?:\s+of)?|\bno|\bwithout(?:\s+enough)?)\s+"
    r"(?:\w+\s+){0,2}(?:information|info|data|details?)\b"
    r"|\b(?:information|info|data|details?)\s+(?:\w+\s+){0,3}(?:is|are)\s+(?:not\s+\w+|missing|insufficient|lacking|unknown|incomplete)"
    r"|\b(?:is|are|was|were)\s+(?:not\s+(?:given|provided|specified|stated|mentioned|told|known|included)|missing)\b"
    r"|\b(?:need|needs|require|requires)\s+(?:\w+\s+){0,2}(?:more|additional|further|extra)\s+(?:information|info|data|details?)\b"
    r"|\b(?:isn't|aren't|wasn't|weren't|never)\s+(?:given|provided|specified|stated|mentioned|told|known)\b"
    r"|\bnever\s+(?:says|tells|gives|provides|specifies|mentions|states)\b"
    r"|\b(?:does|do|did)\s*(?:not|n't)\s+(?:say|tell|give|provide|specify|mention|state|include|indicate|know)\b"
    r"|\b(?:unknown|undetermined|indeterminate|undeterminable|unanswerable|unsolvable|insoluble|not\s+determinable|not\s+(?:solvable|answerable))\b"
    r"|\bno\s+(?:possible\s+)?(?:solution|answer)\b",
    re.IGNORECASE,
)


# How far from a marker its answer is read: an answer, or the list that concludes it, fits in far
# less; the bound keeps a reply that loops on a marker ("the answer is the answer is ...",
# 20,000 characters) linear instead of quadratic. A "sentence" is read at most SENTENCE_REACH
# characters either side of a position (a looping reply may never end one).
ANSWER_WINDOW = 2000
SENTENCE_REACH = 500
# How many strong (and weak) markers strict tries: a reply that states its answer does so within
# the first few; only a degenerate loop has more, and reading each would cost O(markers * window).
MAX_MARKERS = 64


@dataclass(frozen=True)
class Marked:
    """One marker: where it starts, the answer's line, and the text from that line on."""

    start: int
    line: str
    after: str
    weak: bool = False


def cut_run_on(text: str) -> str:
    match = _RUN_ON.search(text or "")
    return (text or "")[: match.start()] if match else text or ""


def is_chatter(sentence: str) -> bool:
    return bool(_CHATTER.search(sentence))


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: split at sentence ends and newlines."""
    cuts = sorted(
        {0, len(text), *(m.end() for m in SENTENCE_END.finditer(text)), *(m.end() for m in re.finditer("\n", text))}
    )
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if text[a:b].strip()]


def sentence_start(spans: Sequence[tuple[int, int]], pos: int) -> int:
    """Where the sentence holding ``pos`` starts, given ``sentences(text)`` (binary search)."""
    i = bisect.bisect_right([a for a, _ in spans], pos) - 1
    return spans[i][0] if i >= 0 else 0


_BULLET = re.compile(r"^[ \t]*[-*•][ \t]+")


def _answer_after(text: str, end: int) -> tuple[str, str]:
    """The answer's line after a marker ending at ``end``: the rest of its line, else the next
    non-empty line; and all text from that line on."""
    rest = text[end : end + ANSWER_WINDOW]
    line, _, tail = rest.partition("\n")
    if line.strip(" \t*_:#-–—="):
        return line, rest
    for later in tail.split("\n"):
        if later.strip(" \t*_#"):  # a line of its own may be a bullet: "- 18" is 18, "-18" is -18
            return _BULLET.sub("", later, count=1), tail[tail.index(later) :]
    return "", ""


def find_markers(text: str) -> list[Marked]:
    """Strong markers in order (a reversed one, "18 is the answer", counts where its sentence
    starts), then the weak ("Answer:") ones; markers inside closing chatter ("I hope the
    answer is helpful") are no markers."""
    spans = sentences(text)

    def before(pos: int) -> str:  # "I hope " in "I hope the answer is helpful"
        return text[max(sentence_start(spans, pos), pos - SENTENCE_REACH) : pos]

    matches = sorted([*MARKER.finditer(text), *NOTATION.finditer(text)], key=lambda m: m.start())
    strong = [m for m in matches if not is_chatter(before(m.start()))]
    taken = [(m.start(), m.end()) for m in strong]
    found = [Marked(m.start(), *_answer_after(text, m.end())) for m in strong]
    for m in REVERSE_MARKER.finditer(text):
        head = before(m.start())
        answer = _CONNECTIVE.sub("", head).strip()
        if answer and not _PRONOUN.match(answer) and not is_chatter(head) and not MARKER.search(head):
            found.append(Marked(m.start() - len(head), answer, answer))
    found.sort(key=lambda mark: mark.start)
    for m in WEAK_MARKER.finditer(text):
        if not any(s <= m.start() < e or m.start() <= s < m.end() for s, e in taken):
            found.append(Marked(m.start(), *_answer_after(text, m.end()), weak=True))
    return found


def first_sentence(line: str) -> str:
    """The answer's sentence: ``line`` up to the end of its first sentence."""
    match = SENTENCE_END.search(line)
    return line[: match.start()] if match else line


def questions_and_chatter(text: str) -> list[tuple[int, int]]:
    """Spans of sentences that state no answer: follow-up questions and closing chatter."""
    return [(a, b) for a, b in sentences(text) if text[a:b].rstrip().endswith("?") or is_chatter(text[a:b])]


def inside(pos: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(a <= pos < b for a, b in spans)


def covering(spans: Sequence[tuple[int, int]]) -> Callable[[int], bool]:
    """``inside`` for many positions: the spans merged once, each position a binary search
    (a 20,000-character reply has thousands of spans and numbers)."""
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        elif a < b:
            merged.append([a, b])
    starts = [a for a, _ in merged]

    def covered(pos: int) -> bool:
        i = bisect.bisect_right(starts, pos) - 1
        return i >= 0 and pos < merged[i][1]

    return covered


def first_marked(text: str, read: Callable[[Marked], T | None]) -> T | None:
    """strict-match's rule: the first strong marker whose answer ``read`` accepts; failing
    that, the last weak ("Answer:") one."""
    marks = find_markers(text)
    strong, weak = [m for m in marks if not m.weak], [m for m in reversed(marks) if m.weak]
    for mark in strong[:MAX_MARKERS] + weak[:MAX_MARKERS]:
        value = read(mark)
        if value is not None:
            return value
    return None
