"""Answer extraction and per-document metrics for every dq task.

All ``process_results_*`` functions follow lm-eval's ``process_results(doc, results)`` contract
and return per-document values (0/1 for binary metrics) so paired tests can use them directly.
The scoring bugs listed in PAPER.md are deliberately avoided: numbers are never cut at '.',
no character of the reply is dropped, and a gold number appearing *somewhere* in the reply does
not count — only the extracted final answer is compared.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from dq_tasks.drop_eval import drop_em_f1

# "The answer is:" with or without the colon, any case; the *last* marker wins because
# a solver may restate intermediate conclusions with the same phrase.
ANSWER_MARKER = re.compile(r"the\s+(?:final\s+)?answer\s+is\s*:?", re.IGNORECASE)

# A number: optional sign (not when glued to a preceding digit, so "5-3" is not "-3"),
# thousands groups "1,450,000" or plain digits, optional decimals, optional "/denominator".
_NUMBER = re.compile(
    r"(?<![\d.])(?P<sign>[-−])?"
    r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?P<dec>\.\d+)?"
    r"(?:\s?/\s?(?P<den>\d+))?"
)

GSM_HARD_REL_TOL = 1e-6
GSM_HARD_ABS_TOL = 1e-6


# --------------------------------------------------------------------------- extraction
def answer_segment(text: str) -> str | None:
    """Text after the last answer marker, or None when the reply has no marker."""
    matches = list(ANSWER_MARKER.finditer(text or ""))
    if not matches:
        return None
    return text[matches[-1].end() :].strip()


def _result_text(results: Sequence[Any]) -> str:
    """lm-eval passes a list with one generation (or a bare string in hand-made calls)."""
    if isinstance(results, str):
        return results
    return str(results[0]) if results else ""


def parse_number(token: str) -> Fraction | None:
    """Exact value of one number token ("1,234.50", "-3", "1/2", "$5", "7%"), else None."""
    found = find_numbers(token)
    return found[0] if len(found) == 1 else None


def find_numbers(text: str) -> list[Fraction]:
    """All numbers in ``text`` in order, as exact fractions (so 3.50 == 3.5, 1/2 == 0.5)."""
    values: list[Fraction] = []
    for m in _NUMBER.finditer(text or ""):
        if not (m.group("int") or m.group("dec")):
            continue  # the pattern also matches empty strings and lone signs
        value = Fraction((m.group("int") or "0").replace(",", "") + (m.group("dec") or ""))
        if m.group("den") and int(m.group("den")) != 0:
            value /= int(m.group("den"))
        values.append(-value if m.group("sign") else value)
    return values


def extract_number(text: str) -> Fraction | None:
    """The predicted final number: first number after the last answer marker, else the last
    number anywhere (units, '$', '%', commas and a trailing period are ignored)."""
    segment = answer_segment(text)
    if segment is not None:
        after = find_numbers(segment)
        if after:
            return after[0]
    numbers = find_numbers(text)
    return numbers[-1] if numbers else None


def extract_span(text: str) -> str:
    """Short free-text answer: the rest of the marker's line, else the first line of the reply."""
    segment = answer_segment(text)
    source = segment if segment is not None else (text or "").strip()
    first_line = source.split("\n", 1)[0].strip()
    return first_line.rstrip(".").strip()


# --------------------------------------------------------------------------- comparison
def numbers_equal(pred: Fraction | None, gold: Fraction, rel_tol: float = 0.0, abs_tol: float = 0.0) -> bool:
    """Exact equality of values. With a tolerance (GSM-Hard), a non-integer gold also matches a
    close value or the gold rounded to the prediction's decimals (8.33 for 8.3333...). Integer
    golds stay exact: a loose relative tolerance on 9,867,630 would accept wrong answers."""
    if pred is None:
        return False
    if pred == gold:
        return True
    if not (rel_tol or abs_tol) or gold.denominator == 1:
        return False
    return math.isclose(float(pred), float(gold), rel_tol=rel_tol, abs_tol=abs_tol) or _rounds_to(gold, pred)


def _rounds_to(gold: Fraction, pred: Fraction) -> bool:
    """True when ``pred`` has d >= 1 decimals and ``gold`` rounded to d decimals equals it."""
    decimals = next((d for d in range(1, 13) if (pred * 10**d).denominator == 1), None)
    if pred.denominator == 1 or decimals is None:
        return False
    return abs(pred - gold) <= Fraction(1, 2 * 10**decimals)


def _normalize_text(text: str) -> str:
    """SQuAD-style: lowercase, drop punctuation and articles, collapse whitespace."""
    text = (text or "").lower()
    text = "".join(ch if ch not in string.punctuation else " " for ch in text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def numeric_match(text: str, golds: Sequence[str], rel_tol: float = 0.0, abs_tol: float = 0.0) -> float:
    """1.0 when the extracted number equals any gold; non-numeric golds (GSM-Plus 'None' for
    unanswerable questions) need the normalized marker answer to equal the gold text."""
    pred = extract_number(text)
    for gold in golds:
        gold_value = parse_number(gold)
        if gold_value is None:
            segment = answer_segment(text)
            said = extract_span(text) if segment is not None else ""
            if said and _normalize_text(said) == _normalize_text(gold):
                return 1.0
        elif numbers_equal(pred, gold_value, rel_tol, abs_tol):
            return 1.0
    return 0.0


# --------------------------------------------------------------------------- process_results
def process_results_numeric(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return {"exact_match": numeric_match(_result_text(results), doc["answers"])}


def process_results_numeric_tol(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    """GSM-Hard golds come from executing Python, e.g. 3244047.0999999996: non-integer golds are
    compared with a tolerance."""
    text = _result_text(results)
    return {"exact_match": numeric_match(text, doc["answers"], GSM_HARD_REL_TOL, GSM_HARD_ABS_TOL)}


def process_results_drop(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    em, f1 = drop_em_f1(extract_span(_result_text(results)), doc["answers"])
    return {"em": em, "f1": f1}


def short_answer_scores(prediction: str, golds: Sequence[str]) -> dict[str, float]:
    """Bamboogle: normalized exact match, and the paper's containment rule done right
    (after the marker, case-insensitive, normalized, whole tokens only)."""
    pred = _normalize_text(prediction)
    norm_golds = [g for g in (_normalize_text(x) for x in golds) if g]
    acc = float(any(pred == g for g in norm_golds))
    contains = float(any(f" {g} " in f" {pred} " for g in norm_golds))
    return {"acc": acc, "acc_contains": contains}


def process_results_short(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return short_answer_scores(extract_span(_result_text(results)), doc["answers"])


_YES_NO = re.compile(r"\b(yes|no|true|false)\b", re.IGNORECASE)


def extract_yes_no(text: str) -> str | None:
    """First yes/no/true/false word after the marker (else in the whole reply), as yes|no."""
    segment = answer_segment(text)
    m = _YES_NO.search(segment if segment is not None else text or "")
    if m is None and segment is not None:
        m = _YES_NO.search(text or "")
    if m is None:
        return None
    return "yes" if m.group(1).lower() in ("yes", "true") else "no"


def process_results_yes_no(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return {"acc": float(extract_yes_no(_result_text(results)) == doc["answers"][0])}


_LETTER_STRICT = re.compile(r"\(([A-E])\)|\b([A-E])\)")
_LETTER_BARE = re.compile(r"\b([A-E])\b")


def extract_letter(text: str, options: Sequence[str] = ()) -> str | None:
    """AQuA option letter: "(C)" / "C)" / a bare "C" after the marker; without a marker only the
    unambiguous "(C)" / "C)" forms (a bare "A" is usually the article). As a last resort a
    number after the marker that matches exactly one option's number picks that option."""
    segment = answer_segment(text)
    if segment is not None:
        for pattern in (_LETTER_STRICT, _LETTER_BARE):
            m = pattern.search(segment)
            if m:
                return next(g for g in m.groups() if g)
        return _letter_by_value(segment, options)
    found = _LETTER_STRICT.findall(text or "")
    if found:
        return next(g for g in found[-1] if g)
    stripped = (text or "").strip().rstrip(".")
    return stripped if stripped in tuple("ABCDE") else None


def _letter_by_value(segment: str, options: Sequence[str]) -> str | None:
    value = extract_number(segment)
    if value is None:
        return None
    hits = [opt[0] for opt in options if opt[:1] in "ABCDE" and find_numbers(opt[2:])[:1] == [value]]
    return hits[0] if len(hits) == 1 else None


def process_results_letter(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    letter = extract_letter(_result_text(results), doc.get("options") or ())
    return {"acc": float(letter == doc["answers"][0])}
