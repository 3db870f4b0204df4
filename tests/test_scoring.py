"""Hand-written scoring cases for every dq metric, incl. a cross-check of DROP EM/F1 against
lm-eval's built-in DROP scorer."""

from __future__ import annotations

import os
import random
from fractions import Fraction
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("DQ_DATA_DIR", str((REPO / ".." / "shared" / "data").resolve()))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from dq_tasks import scoring  # noqa: E402
from dq_tasks.drop_eval import drop_em_f1, get_metrics, normalize_answer  # noqa: E402


def em(text: str, gold: str) -> float:
    return scoring.process_results_numeric({"answers": [gold]}, [text])["exact_match"]


# --------------------------------------------------------------------------- numeric
@pytest.mark.parametrize(
    "text, gold, expected",
    [
        ("The answer is: $1,234.50.", "1234.5", 1.0),  # $, thousands comma, 3.50 == 3.5, period
        ("the answer is 18", "18", 1.0),  # no colon, lower case
        ("THE ANSWER IS: 18 eggs", "18", 1.0),  # units after the number
        ("The final answer is: 7", "7", 1.0),
        ("It takes 3.5 hours.", "3.5", 1.0),  # no marker: last number, not cut at '.'
        ("It takes 3.5 hours.", "3", 0.0),  # the paper's '.'-cutting bug must not score
        ("18", "8", 0.0),  # the paper's dropped-first-character bug must not score
        ("5 + 13 = 18, so the answer is: 20", "18", 0.0),  # gold elsewhere in the reply
        ("The answer is: -5", "-5", 1.0),
        ("The answer is: −5", "-5", 1.0),  # unicode minus
        ("16-3-4 = 9", "9", 1.0),  # hyphens between digits are not signs
        ("The answer is: 25%", "25", 1.0),
        ("The answer is 42.", "42", 1.0),
        ("The answer is: 1/2", "1/2", 1.0),  # fraction gold
        ("The answer is: 0.5", "1/2", 1.0),
        ("The answer is: 1/3", "0.5", 0.0),
        ("The answer is: 3. Hmm, no. The answer is: 4", "4", 1.0),  # the last marker wins
        ("I counted 12 apples. The answer is: twelve", "12", 1.0),  # marker without number
        ("The answer is: 2,125 dollars", "2125", 1.0),
        ("The answer is: 1,2", "12", 0.0),  # not a thousands separator
        ("no number here", "3", 0.0),
        ("", "3", 0.0),
        ("The answer is: 0.50", "0.5", 1.0),
        ("The answer is: 100", "100.0", 1.0),
    ],
)
def test_numeric_exact_match(text: str, gold: str, expected: float) -> None:
    assert em(text, gold) == expected


def test_find_numbers_values() -> None:
    assert scoring.find_numbers("Pay $1,450,000 or 3.50 or -2 or 3/4.") == [
        Fraction(1450000),
        Fraction(7, 2),
        Fraction(-2),
        Fraction(3, 4),
    ]
    assert scoring.parse_number("None") is None
    assert scoring.extract_number("Answer 7. The answer is: 9 apples.") == 9


def test_non_numeric_gold_gsmplus_none() -> None:
    # GSM-Plus "critical thinking" items are unanswerable; the gold is the text "None".
    assert em("The answer is: None", "None") == 1.0
    assert em("The answer is: none.", "None") == 1.0
    assert em("The answer is: 5", "None") == 0.0
    assert em("None of these work, so 5", "None") == 0.0  # needs the marker


def test_gsm_hard_tolerance() -> None:
    def tol(text: str, gold: str) -> float:
        return scoring.process_results_numeric_tol({"answers": [gold]}, [text])["exact_match"]

    assert tol("The answer is: 3244047.1", "3244047.0999999996") == 1.0
    assert tol("The answer is: 14053029.67", "14053029.666666666") == 1.0
    assert tol("The answer is: 14053000", "14053029.666666666") == 0.0
    assert tol("The answer is: 8.33", "8.333333333333334") == 1.0  # rounded to 2 decimals
    assert tol("The answer is: 8.34", "8.333333333333334") == 0.0
    assert tol("The answer is: 8", "8.333333333333334") == 0.0  # no decimals: no rounding rule
    assert tol("The answer is: -9867630", "-9867630") == 1.0
    assert tol("The answer is: -9867000", "-9867630") == 0.0  # integer golds stay exact
    assert em("The answer is: 3244047.1", "3244047.0999999996") == 0.0  # exact elsewhere


# --------------------------------------------------------------------------- DROP
@pytest.mark.parametrize(
    "pred, golds, expected_em, expected_f1",
    [
        ("the Eagles", ["Eagles"], 1.0, 1.0),  # articles
        ("2000", ["2,000"], 1.0, 1.0),  # number normalization
        ("12.0", ["12"], 1.0, 1.0),
        ("7 yards", ["7"], 0.0, 0.67),  # extra token: P=.5, R=1
        ("8", ["7"], 0.0, 0.0),  # numbers must agree
        ("8 yards", ["7 yards"], 0.0, 0.0),
        ("Tom Brady threw", ["Tom Brady"], 0.0, 0.8),
        ("St. Louis!", ["st louis"], 1.0, 1.0),  # punctuation, case
        ("well-known", ["well known"], 1.0, 1.0),  # hyphen splits tokens
        ("Pakistani and Filipino", ["Pakistanis and Filipinos", "Pakistani and Filipino"], 1.0, 1.0),
        ("Filipino", ["Pakistanis and Filipinos", "Pakistani and Filipino"], 0.0, 0.5),  # max over golds
        ("", ["7"], 0.0, 0.0),
        ("anything", ["", "  "], 0.0, 0.0),  # empty golds are skipped
    ],
)
def test_drop_em_f1(pred: str, golds: list[str], expected_em: float, expected_f1: float) -> None:
    assert drop_em_f1(pred, golds) == (expected_em, expected_f1)


def test_drop_multi_span() -> None:
    assert get_metrics(["Tom", "Jerry"], ["Jerry", "Tom"]) == (1.0, 1.0)
    assert get_metrics(["Tom"], ["Tom", "Jerry"]) == (0.0, 0.5)
    assert get_metrics(["Tom", "Spike"], ["Tom", "Jerry"]) == (0.0, 0.5)
    assert normalize_answer("The 1,000 U.S. troops") == "1000.0 us troops"


def test_drop_process_results_extracts_after_marker() -> None:
    doc = {"answers": ["34", "thirty-four"]}
    out = scoring.process_results_drop(doc, ["The passage says 30.\nThe answer is: 34.\nDone."])
    assert out == {"em": 1.0, "f1": 1.0}
    assert scoring.process_results_drop(doc, ["  34 yards\nmore text"]) == {"em": 0.0, "f1": 0.67}


def test_drop_matches_lm_eval_builtin() -> None:
    """Same predictions, same golds: our scorer equals lm_eval.tasks.drop.utils.process_results."""
    from lm_eval.tasks.drop import utils as lm_drop

    from dq_tasks.loaders import load_docs

    rng = random.Random(0)
    docs = rng.sample(load_docs("drop_dq"), 300)
    fixed = ["", "the", "2000", "7 yards", "Tom Brady", "St. Louis", "1,000", "12.5 percent"]
    for doc in docs:
        words = doc["context"].split()
        start = rng.randrange(max(1, len(words) - 4))
        candidates = (
            fixed
            + doc["answers"]
            + [
                " ".join(words[start : start + rng.randint(1, 4)]),
                doc["answers"][0] + " points",
                "the " + doc["answers"][-1],
            ]
        )
        lm_doc = {"answers": [(g,) for g in doc["answers"]]}
        for pred in candidates:
            theirs = lm_drop.process_results(lm_doc, [pred])
            ours = drop_em_f1(pred, doc["answers"])
            assert ours == (theirs["em"], theirs["f1"]), (pred, doc["answers"])


def test_drop_multi_span_matches_lm_eval_builtin() -> None:
    from lm_eval.tasks.drop import utils as lm_drop

    golds = [("Tom", "Jerry"), ("Tom and Jerry",)]
    for pred in (["Tom", "Jerry"], ["Tom"], ["Jerry", "Spike", "Tom"], ["Tom and Jerry"]):
        theirs = lm_drop.process_results({"answers": golds}, pred)
        assert drop_em_f1(pred, golds) == (theirs["em"], theirs["f1"])


# --------------------------------------------------------------------------- Bamboogle
@pytest.mark.parametrize(
    "text, golds, acc, contains",
    [
        ("The answer is: James Madison.", ["james madison"], 1.0, 1.0),
        ("The answer is: President James Madison", ["james madison"], 0.0, 1.0),
        ("james madison", ["James Madison"], 1.0, 1.0),  # no marker: first line
        ("The answer is: the Titanic", ["Titanic"], 1.0, 1.0),  # articles dropped
        ("The answer is: 18123", ["1812"], 0.0, 0.0),  # containment is token-bounded
        ("James Madison was president.\nThe answer is: 1812", ["james madison"], 0.0, 0.0),
        ("The answer is: John Adams", ["James Madison", "Madison"], 0.0, 0.0),
        ("The answer is: Madison", ["James Madison", "Madison"], 1.0, 1.0),  # any alternative
    ],
)
def test_bamboogle(text: str, golds: list[str], acc: float, contains: float) -> None:
    assert scoring.process_results_short({"answers": golds}, [text]) == {"acc": acc, "acc_contains": contains}


# --------------------------------------------------------------------------- StrategyQA
@pytest.mark.parametrize(
    "text, gold, expected",
    [
        ("The answer is: yes", "yes", 1.0),
        ("Genghis had 16 kids, so no wait. The answer is: Yes.", "yes", 1.0),
        ("The answer is: false", "no", 1.0),
        ("True", "yes", 1.0),
        ("No, it cannot.", "no", 1.0),
        ("The answer is: no", "yes", 0.0),
        ("I am not sure.", "no", 0.0),
    ],
)
def test_strategyqa(text: str, gold: str, expected: float) -> None:
    assert scoring.process_results_yes_no({"answers": [gold]}, [text]) == {"acc": expected}


# --------------------------------------------------------------------------- AQuA
OPTIONS = ["A)$61", "B)$65", "C)$67.40", "D)$70", "E)$78.20"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The answer is: E", "E"),
        ("The answer is: (C) $67.40", "C"),
        ("The answer is C).", "C"),
        ("So x = 78.2, which is option E). Hence E.", "E"),  # no marker: "E)" form
        ("A man buys a thing.", None),  # a bare article is not an answer
        ("B", "B"),
        ("The answer is: $78.20", "E"),  # value matches exactly one option
        ("The answer is: 100", None),
    ],
)
def test_aqua_letter(text: str, expected: str | None) -> None:
    assert scoring.extract_letter(text, OPTIONS) == expected


def test_aqua_process_results() -> None:
    doc = {"answers": ["E"], "options": OPTIONS}
    assert scoring.process_results_letter(doc, ["The answer is: E"]) == {"acc": 1.0}
    assert scoring.process_results_letter(doc, ["The answer is: A"]) == {"acc": 0.0}
