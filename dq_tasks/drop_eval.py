"""DROP exact match and F1, following the official evaluator (allenai drop_eval.py).

Written for this project rather than imported from lm-eval so the task does not depend on
another task's module; tests cross-check it against lm-eval's built-in DROP scorer. Steps:
normalize each span token-wise (lowercase, strip punctuation unless the token is a number,
canonical float form for numbers, drop articles), turn spans into token bags, align predicted
and gold bags one-to-one with the Hungarian algorithm, require shared numbers when the gold has
any, average per-bag F1 (rounded to 2 decimals), and take the max over gold alternatives.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

Answer = str | Sequence[str]  # one span, or a multi-span answer

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _normalize_token(token: str) -> str:
    token = token.lower()
    if not _is_number(token):  # "3.5" keeps its dot, "u.s." loses them
        token = "".join(ch for ch in token if ch not in _PUNCTUATION)
    if _is_number(token):  # "2000" and "2000.0" become the same token
        token = str(float(token))
    token = _ARTICLES.sub(" ", token)
    return " ".join(token.split())


def normalize_answer(text: str) -> str:
    """Official normalization; tokens are split on spaces and hyphens."""
    parts = [_normalize_token(tok) for tok in re.split(" |-", text)]
    return " ".join(p for p in parts if p.strip()).strip()


def _answer_to_bags(answer: Answer) -> tuple[list[str], list[set[str]]]:
    spans = [answer] if isinstance(answer, str) else list(answer)
    normalized = [normalize_answer(span) for span in spans]
    return normalized, [set(span.split()) for span in normalized]


def _bag_f1(predicted: set[str], gold: set[str]) -> float:
    overlap = len(gold & predicted)
    precision = overlap / len(predicted) if predicted else 1.0
    recall = overlap / len(gold) if gold else 1.0
    if precision == 0.0 and recall == 0.0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _numbers_agree(gold: set[str], predicted: set[str]) -> bool:
    """A bag pair only scores when the gold has no numbers or shares one with the prediction."""
    gold_numbers = {w for w in gold if _is_number(w)}
    return not gold_numbers or bool(gold_numbers & {w for w in predicted if _is_number(w)})


def _align_bags(predicted: list[set[str]], gold: list[set[str]]) -> np.ndarray:
    scores = np.zeros((len(gold), len(predicted)))
    for gi, gold_bag in enumerate(gold):
        for pi, pred_bag in enumerate(predicted):
            if _numbers_agree(gold_bag, pred_bag):
                scores[gi, pi] = _bag_f1(pred_bag, gold_bag)
    rows, cols = linear_sum_assignment(-scores)
    best = np.zeros(max(len(gold), len(predicted)))
    for row, col in zip(rows, cols):
        best[row] = max(best[row], scores[row, col])
    return best


def get_metrics(predicted: Answer, gold: Answer) -> tuple[float, float]:
    """EM and F1 of one prediction against one gold answer (each a span or list of spans)."""
    pred_spans, pred_bags = _answer_to_bags(predicted)
    gold_spans, gold_bags = _answer_to_bags(gold)
    exact = float(set(pred_spans) == set(gold_spans) and len(pred_spans) == len(gold_spans))
    f1 = round(float(np.mean(_align_bags(pred_bags, gold_bags))), 2)
    return exact, f1


def drop_em_f1(predicted: Answer, golds: Sequence[Answer]) -> tuple[float, float]:
    """Max EM and max F1 over gold alternatives; empty golds are skipped, as officially."""
    best_em, best_f1 = 0.0, 0.0
    for gold in golds:
        first = gold if isinstance(gold, str) else (gold[0] if gold else "")
        if not first.strip():
            continue
        em, f1 = get_metrics(predicted, gold)
        best_em, best_f1 = max(best_em, em), max(best_f1, f1)
    return best_em, best_f1


# A listed answer "Tom, Jerry and Spike" -> spans; "1,000" keeps its thousands comma.
_SPAN_SEPARATORS = re.compile(r"\s*(?:;|,(?!\d{3}\b)|\band\b|&|\n)\s*", re.IGNORECASE)


def split_spans(answer: str) -> list[str]:
    """A predicted multi-span answer as its spans (separators: ; , and & newline)."""
    spans = [s.strip() for s in _SPAN_SEPARATORS.split(answer or "") if s and s.strip()]
    return spans or [answer or ""]


def drop_em_f1_spans(answer: str, golds: Sequence[Sequence[str]]) -> tuple[float, float]:
    """Max EM/F1 over gold alternatives, each a list of spans. A multi-span alternative is
    aligned span by span with the answer split into spans (official multi-span scoring);
    a one-span alternative is compared with the whole answer, as lm-eval's DROP does."""
    best_em, best_f1 = 0.0, 0.0
    for spans in golds:
        if not spans or not spans[0].strip():
            continue
        predicted: Answer = split_spans(answer) if len(spans) > 1 else answer
        em, f1 = get_metrics(predicted, spans[0] if len(spans) == 1 else list(spans))
        best_em, best_f1 = max(best_em, em), max(best_f1, f1)
    return best_em, best_f1
