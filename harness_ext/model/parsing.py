"""Decomposer output -> a clean list of sub-questions."""

from __future__ import annotations

import re

_NO_DECOMP = re.compile(r"^\W*no\s+decomposition", re.IGNORECASE)
# Leading list markers: "1.", "2)", "(3)", "-", "*", "•", "Q1:", "Sub-question 2:", "Step 1:".
_MARKER = re.compile(
    r"^\s*(?:[-*•]+|\(?\d+[.):]|(?:sub-?\s*question|question|q|step)\s*\d*\s*[:.)-])\s*",
    re.IGNORECASE,
)
# Several numbered questions on one line: split after a '?' that a new marker follows.
_SPLIT = re.compile(r"(?<=\?)\s+(?=(?:\(?\d+[.)]|Q\d+\s*:|[-*•]))")


def parse_subquestions(text: str, cap: int | None = None) -> list[str]:
    """Lines that are questions, markers stripped, de-duplicated, at most ``cap``.

    "No decomposition" as the first words means none. Text after the last '?' of a line is
    dropped (small models often append an answer).
    """
    if _NO_DECOMP.match(text or ""):
        return []
    found: list[str] = []
    seen: set[str] = set()
    for line in (text or "").splitlines():
        for part in _SPLIT.split(line):
            question = _clean(part)
            key = question.lower()
            if question and key not in seen:
                seen.add(key)
                found.append(question)
    return found[:cap] if cap is not None else found


def _clean(part: str) -> str:
    if "?" not in part:
        return ""
    question = part.strip()
    for _ in range(2):  # "- Q1: ..." carries two markers
        question = _MARKER.sub("", question, count=1)
    question = question[: question.rfind("?") + 1].strip()
    return question if len(question) > 1 else ""
