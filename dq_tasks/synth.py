"""Deterministic multi-step arithmetic word problems with controllable depth and difficulty.

A problem starts from one stated quantity ("Ann has 7 marbles.") followed by ``depth``
dependent steps, each defined from the previous person's amount ("Ben has 3 times as many
marbles as Ann."). The question asks for the last amount, so solving needs every step in order.
Each problem carries one gold sub-question, sub-answer and equation per step, and its cap on
sub-questions is its depth (``max_subquestions``): the oracle gets every step, and the
decomposer prompt asks for at most that many.

Difficulty ``standard`` (tasks ``dq_synth_d<depth>``) uses all four operations on numbers up
to 5000; ``easy`` (``dq_synth_easy_d<depth>``) adds or subtracts 1-5 on amounts up to 20, the
level at which a 135M instruct model is neither always right nor always wrong (the demo).

Determinism: every problem gets its own ``random.Random`` seeded with a string of
(split, depth, seed, index); Python seeds str deterministically (sha512), independent of
PYTHONHASHSEED. Train problems use a different split key and additionally skip any question
text that occurs in the canonical test set (``TEST_N`` problems), so distillation data cannot
leak into the benchmark.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

Difficulty = Literal["standard", "easy"]

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


# NamedTuples, not dataclasses: lm-eval executes this file by path without registering it in
# sys.modules first, and @dataclass needs the module there (the load_synth hook lives here).
class _Op(NamedTuple):
    """One way to define a new amount from the previous one."""

    phrase: str  # sentence body; {k}, {item} and {prev} are filled in
    symbol: str  # for the gold equation
    apply: Callable[[int, int], int]
    valid: Callable[[int, int], bool]
    operands: tuple[int, int]  # inclusive range for k


class _Level(NamedTuple):
    """What one difficulty draws from."""

    prefix: str  # task name and seed prefix
    start: tuple[int, int]  # inclusive range of the first amount
    ops: tuple[_Op, ...]


EASY_MAX = 20
_LEVELS: dict[str, _Level] = {
    "standard": _Level(
        "dq_synth",
        (3, 40),
        (
            _Op("{k} times as many {item} as {prev}", "*", lambda x, k: x * k, lambda x, k: x * k <= MAX_VALUE, (2, 5)),
            _Op("{k} more {item} than {prev}", "+", lambda x, k: x + k, lambda x, k: x + k <= MAX_VALUE, (2, 60)),
            _Op("{k} fewer {item} than {prev}", "-", lambda x, k: x - k, lambda x, k: x - k >= 1, (1, 40)),
            _Op(
                "1/{k} as many {item} as {prev}",
                "/",
                lambda x, k: x // k,
                lambda x, k: x % k == 0 and x // k >= 1,
                (2, 4),
            ),
        ),
    ),
    "easy": _Level(
        "dq_synth_easy",
        (2, 9),
        (
            _Op("{k} more {item} than {prev}", "+", lambda x, k: x + k, lambda x, k: x + k <= EASY_MAX, (1, 5)),
            _Op("{k} fewer {item} than {prev}", "-", lambda x, k: x - k, lambda x, k: x - k >= 1, (1, 5)),
        ),
    ),
}


SUBQUESTION = "How many {item} does {name} have?"
_SUBQUESTION = re.compile(r"How many (?P<item>.+) does (?P<name>\S+) have\?")


def gold_solution(doc: dict) -> str | None:
    """The step-by-step solution in the solve prompt's format ("1. Ben has 7 + 3 = 10 coins.
    2. ... The answer is: 12"), rebuilt from a synthetic doc's gold steps; None for other docs."""
    steps = list(zip(doc.get("gold_subquestions") or [], doc.get("gold_equations") or []))
    if not steps or len(steps) != len(doc["gold_subquestions"]) or not doc.get("answers"):
        return None
    lines = []
    for i, (question, equation) in enumerate(steps, 1):
        m = _SUBQUESTION.fullmatch(question)
        if m is None:
            return None
        lines.append(f"{i}. {m['name']} has {equation} {m['item']}.")
    return " ".join(lines) + f" The answer is: {doc['answers'][0]}"


def task_name(depth: int, difficulty: Difficulty = "standard") -> str:
    return f"{_level(difficulty).prefix}_d{depth}"


def _level(difficulty: str) -> _Level:
    if difficulty not in _LEVELS:
        raise ValueError(f"difficulty must be one of {sorted(_LEVELS)}, got {difficulty!r}")
    return _LEVELS[difficulty]


def _step(rng: random.Random, value: int, ops: tuple[_Op, ...]) -> tuple[_Op, int]:
    """Pick a valid operation and operand for ``value``; at every level some op always fits."""
    while True:
        op = rng.choice(ops)
        k = rng.randint(*op.operands)
        if op.valid(value, k):
            return op, k


def make_problem(rng: random.Random, depth: int, difficulty: Difficulty = "standard") -> dict:
    """One problem as a task doc (question, answers, gold sub-questions/answers/equations)."""
    level = _level(difficulty)
    names = rng.sample(NAMES, depth + 1)
    item = rng.choice(ITEMS)
    value = rng.randint(*level.start)
    sentences = [f"{names[0]} has {value} {item}."]
    subquestions: list[str] = []
    subanswers: list[str] = []
    equations: list[str] = []
    for i in range(1, depth + 1):
        op, k = _step(rng, value, level.ops)
        new_value = op.apply(value, k)
        body = op.phrase.format(k=k, item=item, prev=names[i - 1])
        sentences.append(f"{names[i]} has {body}.")
        subquestions.append(SUBQUESTION.format(item=item, name=names[i]))
        subanswers.append(str(new_value))
        equations.append(f"{value} {op.symbol} {k} = {new_value}")
        value = new_value
    question = " ".join(sentences) + f" How many {item} does {names[-1]} have?"
    return {
        "dq_task": task_name(depth, difficulty),
        "context": "",
        "question": question,
        "answers": [str(value)],
        "gold_subquestions": subquestions,
        "gold_subanswers": subanswers,
        "gold_equations": equations,
        "depth": depth,
        "max_subquestions": depth,  # one sub-question per step: the oracle gets them all
    }


def _problems(depth: int, split: str, seed: int, difficulty: Difficulty):
    """Endless stream of (index, problem) for one split."""
    prefix = _level(difficulty).prefix  # "dq_synth" keeps the standard problems as they were
    index = 0
    while True:
        rng = random.Random(f"{prefix}:{split}:{depth}:{seed}:{index}")
        yield index, make_problem(rng, depth, difficulty)
        index += 1


def generate(
    depth: int, n: int = TEST_N, seed: int = DEFAULT_SEED, split: str = "test", difficulty: Difficulty = "standard"
) -> list[dict]:
    """``n`` problems of the given depth; same arguments → same list. ``split='train'`` yields
    problems whose question text never appears in the canonical test set of that depth/seed.
    Easy problems draw from few distinct questions: ``n`` may exceed what exists (an error)."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    if split not in ("test", "train"):
        raise ValueError(f"split must be 'test' or 'train', got {split!r}")
    excluded: set[str] = set()
    if split == "train":
        excluded = {d["question"] for d in generate(depth, TEST_N, seed, "test", difficulty)}
    task = task_name(depth, difficulty)
    docs: list[dict] = []
    seen: set[str] = set()
    for index, doc in _problems(depth, split, seed, difficulty):
        if len(docs) >= n:
            break
        if index >= _MAX_DRAWS_PER_DOC * max(n, TEST_N):
            raise ValueError(f"{task}: only {len(docs)} distinct {split} problems found, {n} asked for")
        if doc["question"] in excluded or doc["question"] in seen:
            continue  # duplicates within a split would weight one problem twice
        seen.add(doc["question"])
        docs.append({"id": f"{task}-{split}-{seed}-{index}", **doc})
    return docs


_MAX_DRAWS_PER_DOC = 50  # a bound on draws, so an exhausted space fails instead of looping


def load_synth(
    depth: int,
    difficulty: Difficulty = "standard",
    synth_n: int = TEST_N,
    synth_seed: int = DEFAULT_SEED,
    synth_split: str = "test",
    **kwargs: Any,
) -> dict[str, Any]:
    """lm-eval ``custom_dataset`` hook of the synthetic tasks (``!function synth.load_synth``).

    depth and difficulty come from the task YAML's dataset_kwargs; n, seed and split may be
    overridden through lm-eval --metadata (synth_n, synth_seed, synth_split="train" for
    distillation data disjoint from the test set). lm-eval runs this file by path, so the
    repository root is made importable to reach ``dq_tasks.loaders``.
    """
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from dq_tasks.dataset import to_dataset

    return to_dataset(generate(int(depth), int(synth_n), int(synth_seed), str(synth_split), difficulty))
