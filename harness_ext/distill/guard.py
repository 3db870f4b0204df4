"""Contamination guard: never train a student on docs it will be scored on.

A doc counts as seen when its ``doc_hash`` (lm-eval's hash of the exact doc dict) or its
normalized question text matches a doc of the evaluation split. The hash alone is not enough:
it changes with any field (an id, a split tag), while the question is what the student learns.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness_ext.errors import DQError

_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_question(text: str) -> str:
    """Lowercase, no punctuation, single spaces: formatting differences are not new questions."""
    return re.sub(r"\s+", " ", str(text).lower().translate(_PUNCT)).strip()


@dataclass
class EvalSplit:
    task: str
    hashes: set[str] = field(default_factory=set)
    questions: set[str] = field(default_factory=set)


@dataclass
class Overlap:
    task: str
    rows: list[dict]  # training rows found in the evaluation split

    def describe(self, limit: int = 5) -> str:
        if not self.rows:
            return f"0 rows overlap {self.task}"
        ids = ", ".join(str(r.get("doc_id", "?")) for r in self.rows[:limit])
        more = f" and {len(self.rows) - limit} more" if len(self.rows) > limit else ""
        return f"{len(self.rows)} rows overlap {self.task} (doc_id {ids}{more})"


def load_eval_split(task: str, metadata: dict[str, Any] | None = None) -> EvalSplit:
    """The docs lm-eval will score for ``task`` (its test split, else validation), through the
    same TaskManager the `dq eval` CLI builds, so --metadata overrides apply the same way."""
    from harness_ext.lmeval.samples import doc_hash
    from harness_ext.lmeval.tasks import eval_docs

    split = EvalSplit(task)
    try:
        for doc in eval_docs(task, metadata):
            split.hashes.add(doc_hash(doc))
            if "question" in doc:
                split.questions.add(normalize_question(doc["question"]))
    except DQError as exc:
        raise DQError(f"--eval-task: contamination guard: {exc}") from None
    return split


def find_overlap(rows: Iterable[dict], split: EvalSplit) -> Overlap:
    hits = [
        r
        for r in rows
        if r.get("doc_hash") in split.hashes
        or (r.get("question") and normalize_question(r["question"]) in split.questions)
    ]
    return Overlap(split.task, hits)


def check_rows(
    rows: list[dict], eval_tasks: list[str] | None, allow_overlap: bool = False, metadata: dict[str, Any] | None = None
) -> list[str]:
    """Raise DQError on overlap (unless allowed); return notes for the training log."""
    tasks = eval_tasks or sorted({str(r["task"]) for r in rows if r.get("task")})
    problem = None
    if not tasks:
        problem = "the contamination guard needs --eval-task: the rows carry no 'task' field"
    elif not any(r.get("doc_hash") or r.get("question") for r in rows):
        problem = "the rows carry neither doc_hash nor question, so the guard cannot check them"
    if problem and allow_overlap:  # the user accepted overlap: an unchecked guard is a note
        return [f"guard not run: {problem} (--allow-overlap)"]
    if problem:
        raise DQError(f"{problem}; export them with `dq distill export`, or pass --allow-overlap")
    notes = []
    for task in tasks:
        overlap = find_overlap(rows, load_eval_split(task, metadata))
        if overlap.rows and not allow_overlap:
            raise DQError(
                f"contamination: {overlap.describe()}, the split the student is evaluated on; "
                'train on a train split (e.g. --metadata \'{"synth_split": "train"}\' for dq_synth_*) '
                "or pass --allow-overlap"
            )
        notes.append(f"guard: {overlap.describe()}" + (" (allowed)" if overlap.rows else ""))
    return notes


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DQError(f"--eval-metadata is not JSON: {exc.msg}") from None
    if not isinstance(value, dict):
        raise DQError("--eval-metadata must be a JSON object, e.g. '{\"synth_n\": 500}'")
    return value
