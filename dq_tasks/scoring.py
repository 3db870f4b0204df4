"""Per-document metrics for every dq task, computed on the answer a filter extracted.

lm-eval runs each task's filters (``strict-match`` and ``flexible-extract``, see
``dq_tasks/extract.py``) on the reply and calls ``process_results(doc, [answer])`` once per
filter, so every metric is reported as ``<metric>,strict-match`` and
``<metric>,flexible-extract``. The ``process_results_*`` functions therefore compare an
*extracted* answer with the golds; ``score_reply`` runs extraction and scoring on a raw reply.
Values are 0/1 for binary metrics so paired tests can use them directly. The paper scripts'
bugs (PAPER.md) are not reproduced: numbers are never cut at '.', no character is dropped,
and a gold number appearing *somewhere* in the reply does not count.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

from dq_tasks.answers import find_numbers, parse_number
from dq_tasks.drop_eval import drop_em_f1_spans
from dq_tasks.extract import UNANSWERABLE, Family, FilterName, extract

# GSM-Hard: PAL's evaluation accepts |pred - gold| < 1e-3 (golds come from executed Python,
# e.g. 3244047.0999999996). A wrong integer is >= 1 away, so it never scores.
GSM_HARD_ABS_TOL = Fraction(1, 1000)

Scorer = Literal["numeric", "numeric_tol", "numeric_plus", "letter", "yes_no", "short", "drop"]
FAMILY: dict[Scorer, Family] = {
    "numeric": "number",
    "numeric_tol": "number",
    "numeric_plus": "number_or_none",
    "letter": "letter",
    "yes_no": "yes_no",
    "short": "span",
    "drop": "span",
}


def _answer(results: Sequence[Any]) -> str:
    """lm-eval passes a list with one filtered answer (or a bare string in hand-made calls)."""
    if isinstance(results, str):
        return results
    return str(results[0]) if results else ""


# --------------------------------------------------------------------------- numbers
def numbers_equal(pred: Fraction | None, gold: Fraction, abs_tol: Fraction = Fraction(0)) -> bool:
    """Exact equality of values; with ``abs_tol`` (GSM-Hard), |pred - gold| < abs_tol."""
    if pred is None:
        return False
    return pred == gold or abs(pred - gold) < abs_tol


def numeric_match(answer: str, golds: Sequence[str], abs_tol: Fraction = Fraction(0)) -> float:
    """1.0 when the extracted answer equals a gold: a number, or GSM-Plus's "None" (the reply
    said the question cannot be answered)."""
    pred = parse_number(answer)
    for gold in golds:
        if gold.strip() == UNANSWERABLE:
            if answer == UNANSWERABLE:
                return 1.0
        elif numbers_equal(pred, _gold_number(gold), abs_tol):
            return 1.0
    return 0.0


def _gold_number(gold: str) -> Fraction:
    value = parse_number(gold)
    if value is None:
        raise ValueError(f"gold {gold!r} is not a number")
    return value


def process_results_numeric(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return {"exact_match": numeric_match(_answer(results), doc["answers"])}


def process_results_numeric_tol(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return {"exact_match": numeric_match(_answer(results), doc["answers"], GSM_HARD_ABS_TOL)}


# --------------------------------------------------------------------------- short answers
def normalize_text(text: str) -> str:
    """SQuAD-style: lowercase, drop punctuation and articles, collapse whitespace."""
    text = (text or "").lower()
    text = "".join(ch if ch not in string.punctuation else " " for ch in text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def short_answer_scores(prediction: str, golds: Sequence[str]) -> dict[str, float]:
    """Bamboogle. ``acc`` is the paper's accuracy, containment, done right (normalized gold
    contained as whole tokens in the normalized answer); ``exact_match`` is strict equality."""
    pred = normalize_text(prediction)
    norm_golds = [g for g in (normalize_text(x) for x in golds) if g]
    return {
        "acc": float(any(f" {g} " in f" {pred} " for g in norm_golds)),
        "exact_match": float(any(pred == g for g in norm_golds)),
    }


def process_results_short(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return short_answer_scores(_answer(results), doc["answers"])


def process_results_drop(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    """DROP EM/F1; alternatives with several gold spans (``answer_spans``) are scored with the
    official multi-span alignment against the answer split into spans."""
    golds: list[list[str]] = doc.get("answer_spans") or [[a] for a in doc["answers"]]
    em, f1 = drop_em_f1_spans(_answer(results), golds)
    return {"em": em, "f1": f1}


# --------------------------------------------------------------------------- yes/no, letters
def process_results_yes_no(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return {"acc": float(_answer(results) == doc["answers"][0])}


def process_results_letter(doc: dict, results: Sequence[Any]) -> dict[str, float]:
    return {"acc": float(_answer(results) == doc["answers"][0])}


_PROCESS = {
    "numeric": process_results_numeric,
    "numeric_tol": process_results_numeric_tol,
    "numeric_plus": process_results_numeric,
    "letter": process_results_letter,
    "yes_no": process_results_yes_no,
    "short": process_results_short,
    "drop": process_results_drop,
}


def score_reply(doc: dict, reply: str, scorer: Scorer, filter_name: FilterName = "strict-match") -> dict[str, float]:
    """What lm-eval records for one raw reply under one filter (extraction, then metrics)."""
    return _PROCESS[scorer](doc, [extract(reply, FAMILY[scorer], filter_name, doc)])


__all__ = ["find_numbers", "parse_number", "score_reply", "GSM_HARD_ABS_TOL"]
