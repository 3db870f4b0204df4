"""Deterministic multi-step arithmetic word problems with controllable depth.

A problem starts from one stated quantity ("Ann has 7 marbles.") followed by ``depth``
dependent steps, each defined from the previous person's amount ("Ben has 3 times as many
marbles as Ann."). The question asks for the last amount, so solving needs every step in order.
Each problem carries one gold sub-question, sub-answer and equation per step.

Determinism: every problem gets its own ``random.Random`` seeded with a string of
(split, depth, seed, index); Python seeds str deterministically (sha512), independent of
PYTHONHASHSEED. Train problems use a different split key and additionally skip any question
text that occurs in the canonical test set (``TEST_N`` problems), so distillation data cannot
leak into the benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

TEST_N = 200
DEFAULT_SEED = 1234
MAX_VALUE = 5000  # keeps numbers within what small models can still compute

NAMES = [
    "Ann",
    "Ben",
    "Cara",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kai",
    "Lena",
    "Milo",
    "Nora",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vik",
    "Wen",
    "Yara",
]
ITEMS = [
    "marbles",
    "stickers",
    "apples",
    "coins",
    "books",
    "pencils",
    "stamps",
    "shells",
    "cards",
    "buttons",
    "cookies",
    "beads",
    "seeds",
    "tickets",
    "toy cars",
    "balloons",
]


@dataclass(frozen=True)
class _Op:
    """One way to define a new amount from the previous one."""

    phrase: str  # sentence body; {k}, {item} and {prev} are filled in
    symbol: str  # for the gold equation
    apply: Callable[[int, int], int]
    valid: Callable[[int, int], bool]
    operands: tuple[int, int]  # inclusive range for k


_OPS = [
    _Op("{k} times as many {item} as {prev}", "*", lambda x, k: x * k, lambda x, k: x * k <= MAX_VALUE, (2, 5)),
    _Op("{k} more {item} than {prev}", "+", lambda x, k: x + k, lambda x, k: x + k <= MAX_VALUE, (2, 60)),
    _Op("{k} fewer {item} than {prev}", "-", lambda x, k: x - k, lambda x, k: x - k >= 1, (1, 40)),
    _Op("1/{k} as many {item} as {prev}", "/", lambda x, k: x // k, lambda x, k: x % k == 0 and x // k >= 1, (2, 4)),
]


def _step(rng: random.Random, value: int) -> tuple[_Op, int]:
    """Pick a valid operation and operand for ``value``; multiply/add always fit eventually."""
    while True:
        op = rng.choice(_OPS)
        k = rng.randint(*op.operands)
        if op.valid(value, k):
            return op, k


def make_problem(rng: random.Random, depth: int) -> dict:
    """One problem as a task doc (question, answers, gold sub-questions/answers/equations)."""
    names = rng.sample(NAMES, depth + 1)
    item = rng.choice(ITEMS)
    value = rng.randint(3, 40)
    sentences = [f"{names[0]} has {value} {item}."]
    subquestions: list[str] = []
    subanswers: list[str] = []
    equations: list[str] = []
    for i in range(1, depth + 1):
        op, k = _step(rng, value)
        new_value = op.apply(value, k)
        body = op.phrase.format(k=k, item=item, prev=names[i - 1])
        sentences.append(f"{names[i]} has {body}.")
        subquestions.append(f"How many {item} does {names[i]} have?")
        subanswers.append(str(new_value))
        equations.append(f"{value} {op.symbol} {k} = {new_value}")
        value = new_value
    question = " ".join(sentences) + f" How many {item} does {names[-1]} have?"
    return {
        "question": question,
        "answers": [str(value)],
        "gold_subquestions": subquestions,
        "gold_subanswers": subanswers,
        "gold_equations": equations,
        "depth": depth,
    }


def _problems(depth: int, split: str, seed: int):
    """Endless stream of (index, problem) for one split."""
    index = 0
    while True:
        rng = random.Random(f"dq_synth:{split}:{depth}:{seed}:{index}")
        yield index, make_problem(rng, depth)
        index += 1


def generate(depth: int, n: int = TEST_N, seed: int = DEFAULT_SEED, split: str = "test") -> list[dict]:
    """``n`` problems of the given depth; same arguments → same list. ``split='train'`` yields
    problems whose question text never appears in the canonical test set of that depth/seed."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    excluded: set[str] = set()
    if split == "train":
        excluded = {d["question"] for d in generate(depth, TEST_N, seed, "test")}
    docs: list[dict] = []
    seen: set[str] = set()
    for index, doc in _problems(depth, split, seed):
        if len(docs) >= n:
            break
        if doc["question"] in excluded or doc["question"] in seen:
            continue  # duplicates within a split would weight one problem twice
        seen.add(doc["question"])
        docs.append({"id": f"dq_synth_d{depth}-{split}-{seed}-{index}", **doc})
    return docs
