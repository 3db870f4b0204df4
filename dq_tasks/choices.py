"""Closed-answer families: AQuA option letters and StrategyQA yes/no.

Both filters follow ``dq_tasks/extract.py``: strict-match reads the first marker's answer,
flexible-extract starts from it and otherwise takes the reply's stated answer. A *stated*
answer is one the reply gives as an answer, not a word in its discussion: a line that is just
an option ("(C) 12.5 hours"), a sentence that opens with yes/no ("Definitely not."), versus
"(A) is too small" or "it is true that ...".
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence

from dq_tasks.answers import find_numbers, stated_value, unwrap
from dq_tasks.markers import (
    CANNOT_ANSWER,
    INVALID,
    SENTENCE_REACH,
    Marked,
    covering,
    first_marked,
    first_sentence,
    questions_and_chatter,
    sentences,
)

# --------------------------------------------------------------------------- letters (AQuA)
_LETTER_HEAD = re.compile(
    r"^(?:option|choice)?\s*(?:\(([A-Ea-e])\)|([A-Ea-e])\)|([A-Ea-e])(?=\s*$|[.,:;!]|\s+[^A-Za-z\s]|\s+is\b))",
    re.IGNORECASE,
)
_LETTER_ANYWHERE = re.compile(
    r"\(([A-E])\)|\b([A-E])\)|\b(?i:option|choice)\s*\(?([A-Ea-e])\b|\\boxed\{([A-E])\}|\*\*([A-E])\*\*"
)
# A bare capital letter used as an option ("I choose C.", "C is it"), read in concluding sentences.
# Only after a choosing verb or a copula: "to B" in "his approach to B" is a place.
_BARE_LETTER = re.compile(
    r"(?:^|\b(?:choose|pick|select|with|is|be)\s+)([A-E])\b(?=\s*(?:[.,;:!)]|$)|\s+(?:is|would|should|must)\b)",
    re.IGNORECASE | re.MULTILINE,
)
# A line that states an option: the letter, then at most the option's own text.
_OPTION_LINE = re.compile(r"^[\s\-*>#]*(?:(?:option|choice)\s*)?(?:\(([A-Ea-e])\)|([A-E])\)|([A-E])(?:[.:]|\s*$))(.*)$")


def _head_letter(line: str) -> str | None:
    m = _LETTER_HEAD.match(unwrap(line).strip(" :*\t\"'"))
    return next(g for g in m.groups() if g).upper() if m else None


def _option_text(options: Sequence[str], letter: str) -> str:
    return next((o[2:] for o in options if o[:1] == letter), "")


def _letter_by_value(line: str, options: Sequence[str]) -> str | None:
    """The one option whose value the line states ("The answer is: 25 * 0.5 = 12.5 hours")."""
    value = stated_value(line)
    if value is None:
        return None
    hits = [o[0] for o in options if o[:1] in "ABCDE" and find_numbers(unwrap(o[2:]))[:1] == [value]]
    return hits[0] if len(hits) == 1 else None


def _letter_at(mark: Marked, options: Sequence[str]) -> str | None:
    return _head_letter(mark.line) or _letter_by_value(mark.line, options) or _named_letter(mark.line)


def _named_letter(line: str) -> str | None:
    """The one option the answer's sentence names ("The answer is 59:91, which is option B"),
    unless the sentence rules it out ("..., not (C)")."""
    sentence = first_sentence(unwrap(line))
    named = {_mention(m) for m in _LETTER_ANYWHERE.finditer(sentence)}
    return named.pop() if len(named) == 1 and not _RULES_OUT.search(sentence) else None


def strict_letter(text: str, options: Sequence[str] = ()) -> str:
    """First marker followed by an option: "C", "c", "(c)", "C)", "option C", "C: $67.40";
    "A total of 22" is the article, and then its value may still name exactly one option."""
    return first_marked(text, lambda m: _letter_at(m, options)) or INVALID


def _stated_options(text: str, options: Sequence[str]) -> list[tuple[int, str]]:
    """Lines that state an option, without a restated options list (A, B, C, ... in order)."""
    stated: list[tuple[int, str]] = []
    for i, line in enumerate(unwrap(text).split("\n")):
        m = _OPTION_LINE.match(line.strip())
        if not m:
            continue
        letter, rest = next(g for g in m.groups()[:3] if g).upper(), m.group(4).strip(" .:*")
        own = _option_text(options, letter)
        if _RULES_OUT.search(rest):  # "A) 1/5 is too small": an option checked and ruled out
            continue
        if not rest or (len(rest.split()) <= 5 and find_numbers(rest)[:1] == find_numbers(unwrap(own))[:1]):
            stated.append((i, letter))
    letters = "".join(letter for _, letter in stated)
    if len(stated) >= 3 and letters[:3] == "ABC":
        stated = stated[len(_ascending_prefix(letters)) :]
    return stated


def _ascending_prefix(letters: str) -> str:
    n = 0
    while n < len(letters) and letters[n] == "ABCDE"[n]:
        n += 1
    return letters[:n]


# A sentence that concludes (its option is the answer) and one that rules an option out.
_CONCLUDES = re.compile(
    r"\b(?:hence|therefore|thus|so|correct|right|answer|matches|must\s+be|it\s+is|choose|pick|select|go\s+with)\b",
    re.IGNORECASE,
)
_RULES_OUT = re.compile(
    r"\b(?:wrong|incorrect|not|too|rule\w*\s+out|cannot|mistakes?|trap|only\s+if)\b|n't\b", re.IGNORECASE
)


def _mention(m: re.Match[str]) -> str:
    return next(g for g in m.groups() if g).upper()


_LABEL_ONLY = re.compile(
    r"^[\s\-*>#]*(?:(?:option|choice)\s*)?\(?[A-E]\)[\s:*]*$|^[\s\-*>#]*(?:option|choice)\s*[A-E][\s:*]*$"
)
_LABEL_TEXT = re.compile(r"^[\s\-*>#]*(?:(?:option|choice)\s*)?\(?[A-E]\)?[.:)]?\s+\S")


def _cut_walkthrough(text: str) -> str:
    """A reply cut off while checking the options one by one ("A) 1/5 is too small.\nB) "):
    the last option label, with nothing after it, is no stated answer."""
    lines = [ln for ln in text.rstrip().split("\n") if ln.strip()]
    if len(lines) >= 2 and _LABEL_ONLY.match(lines[-1]) and _LABEL_TEXT.match(lines[-2]):
        return text.rstrip()[: text.rstrip().rfind("\n")]
    return text


def _sentence_of(text: str, spans: list[tuple[int, int]], pos: int) -> str:
    i = bisect.bisect_right([a for a, _ in spans], pos) - 1
    start, end = spans[i] if i >= 0 else (0, pos)
    return text[max(start, pos - SENTENCE_REACH) : min(end, pos + SENTENCE_REACH)]


def flexible_letter(text: str, options: Sequence[str] = ()) -> str:
    """strict's letter; else the last stated option: a line that is just an option ("(C) 12.5
    hours") or an option in a concluding sentence ("Hence, A) is correct"), so talk of other
    options ("(A) is too small") does not override it; else the last option mentioned; else
    the option whose value the last line states."""
    strict = strict_letter(text, options)
    if strict != INVALID:
        return strict
    text = _cut_walkthrough(text)
    skip = questions_and_chatter(text)
    skipped = covering(skip)
    mentions = [m for m in _LETTER_ANYWHERE.finditer(text) if not skipped(m.start())]
    lines = text.split("\n")
    offsets = list(itertools.accumulate((len(x) + 1 for x in lines[:-1]), initial=0))
    stated = [(offsets[i], letter) for i, letter in _stated_options(text, options)]
    bare = [m for m in _BARE_LETTER.finditer(text) if not skipped(m.start())]
    spans = sentences(text)
    for m in [*mentions, *bare]:
        sentence = _sentence_of(text, spans, m.start())
        if _CONCLUDES.search(sentence) and not _RULES_OUT.search(sentence):
            stated.append((m.start(), _mention(m)))
    if stated:
        return max(stated)[1]
    mentions = [m for m in mentions if not _RULES_OUT.search(_sentence_of(text, spans, m.start()))]
    if mentions:  # an option the reply rules out ("A) 1/5 is too small") is no answer
        return _mention(mentions[-1])
    nonempty = [ln for ln in lines if ln.strip()]
    if not nonempty or _RULES_OUT.search(nonempty[-1]):
        return INVALID
    return _letter_by_value(nonempty[-1], options) or INVALID


# --------------------------------------------------------------------------- yes / no
# "yes or no", "yes/no", "yes and no", "not yes", "neither yes nor no" state no answer.
_NOT_AN_ANSWER = re.compile(
    r"\b(?:yes|no|true|false)\s*(?:or|/|and)\s*(?:yes|no|true|false)\b|\b(?:not|neither|nor)\s+(?:a\s+)?(?:yes|no|true|false)\b",
    re.IGNORECASE,
)
_CONNECTIVES = re.compile(
    r"^(?:[\s\W_]|\b(?:so|thus|hence|therefore|well|overall|in\s+(?:conclusion|short|summary)|finally|then|and|but)\b)+",
    re.IGNORECASE,
)
_END = r"(?=\s*(?:[,.!;:)*\"'\n]|$))"
_AFFIRM = r"(?:of\s+course|definitely|certainly|absolutely|surely|sure|indeed|(?:most|very|quite)\s+likely|probably|likely|clearly|obviously|undoubtedly)"
# The opening of a sentence that answers: a yes/no word, an affirming adverb ("Of course"),
# the same negated ("Definitely not", "Of course not"), or a plain negation ("Not at all").
_LEAD = re.compile(
    rf"^(?:(?P<yes>yes|yeah|yep|yup)\b|(?P<yes2>true|correct|right|affirmative){_END}"
    rf"|(?P<aff>(?:{_AFFIRM}[\s,]*)+)(?P<neg>not\b|n't\b)?(?(neg)|{_END})"
    rf"|(?P<no>no)(?:{_END}|\s+(?=(?:it|they|he|she|that|this|there|we|you|i|not)\b))"
    rf"|(?P<no2>nope|nah|false|incorrect|wrong){_END}|(?P<no3>not\s+at\s+all|no\s+way|not\s+really|not\s+necessarily|never|unlikely)\b)",
    re.IGNORECASE,
)
_WORD = re.compile(rf"\b(?:(yes)\b|(no|true|false){_END})", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|never|cannot|impossible|unable)\b|n't\b", re.IGNORECASE)


def lead_polarity(sentence: str) -> str | None:
    """yes/no when ``sentence`` opens with an answer, else None."""
    body = _CONNECTIVES.sub("", unwrap(sentence), count=1)
    if _NOT_AN_ANSWER.match(body):
        return None
    m = _LEAD.match(body)
    if not m:
        return None
    if m.group("aff"):
        return "no" if m.group("neg") else "yes"
    return "yes" if (m.group("yes") or m.group("yes2")) else "no"


def _words(text: str) -> list[tuple[int, str]]:
    """yes/no/true/false used as an answer ("so no.", "it is true."), not "no one", "true that"."""
    masked = _NOT_AN_ANSWER.sub(lambda m: " " * len(m.group(0)), text)
    return [
        (m.start(), "yes" if (m.group(1) or m.group(2)).lower() in ("yes", "true") else "no")
        for m in _WORD.finditer(masked)
    ]


def _yes_no_at(mark: Marked) -> str | None:
    line = unwrap(mark.line)
    lead = lead_polarity(line)
    if lead:
        return lead
    words = _words(line)
    if words:
        return words[0][1]
    if _NOT_AN_ANSWER.search(line) or CANNOT_ANSWER.search(line):
        return None  # "yes or no", "Not enough information": no yes/no answer
    return "no" if _NEGATION.search(line.split(".")[0]) else None  # "Aristotle did not use one."


def strict_yes_no(text: str) -> str:
    return first_marked(text, _yes_no_at) or INVALID


def flexible_yes_no(text: str) -> str:
    """strict's answer; else the last sentence that opens with an answer ("Yes.", "Definitely
    not."); else the last yes/no word used as an answer outside questions and chatter."""
    strict = strict_yes_no(text)
    if strict != INVALID:
        return strict
    plain = unwrap(text)
    skip = questions_and_chatter(plain)
    skipped = covering(skip)
    kept = [(a, b) for a, b in sentences(plain) if not skipped(a)]
    leads = [(a, p) for a, b in kept if (p := lead_polarity(plain[a:b]))]
    if leads:  # a reply that opens with its answer keeps it; else its last concluding answer
        return leads[0][1] if leads[0][0] == kept[0][0] else leads[-1][1]
    words = [w for a, b in kept for w in _words(plain[a:b])]
    return words[-1][1] if words else INVALID
