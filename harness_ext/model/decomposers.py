"""Static decomposer strategies: where each doc's sub-questions come from.

One small protocol, one class per strategy. ``TwoStageLM`` builds one from its config
(:func:`build_decomposer`) and calls ``decompose(items)`` on every batch in static mode; a new
decomposer is a new class here, not a new branch in the model. Dynamic mode (dynamic.py) asks
its own per-round questions and does not go through these classes.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness_ext.errors import DQError
from harness_ext.model.items import Item
from harness_ext.model.parsing import parse_subquestions
from harness_ext.model.prompts import Kind
from harness_ext.model.stages import Generation, Request, Stage


class Prompter(Protocol):
    """What a strategy needs from the two_stage model: the doc's cap and its prompts."""

    def cap(self, item: Item) -> int: ...
    def request(self, item: Item, kind: Kind, gen_kwargs: dict[str, Any], **extra: Any) -> Request: ...


class Decomposer(Protocol):
    backend: str  # "none" | "oracle" | "replay" | a model backend

    def decompose(self, items: list[Item]) -> None:
        """Fill each item's subquestions (and decomposition, flags) for one batch."""


class NoDecomposer:
    """``decomposer=none``: the single-stage baseline; no doc gets sub-questions."""

    backend = "none"

    def decompose(self, items: list[Item]) -> None:
        return None


class OracleDecomposer:
    """``decomposer=oracle``: the task's gold sub-questions, capped."""

    backend = "oracle"

    def __init__(self, prompter: Prompter) -> None:
        self.prompter = prompter

    def decompose(self, items: list[Item]) -> None:
        for item in items:
            gold = item.doc.get("gold_subquestions")
            if not gold:
                raise DQError(
                    f"decomposer=oracle needs gold_subquestions, but task {item.task!r} doc "
                    f"{item.doc_id} has none; use a task that has them (dq tasks) or another decomposer"
                )
            item.subquestions = list(gold)[: self.prompter.cap(item)]


class ModelDecomposer:
    """A model stage writes the sub-questions. ``request`` and ``accept`` are the two halves of
    one doc's call, for a pipeline that streams docs through the stage itself."""

    def __init__(self, stage: Stage, prompter: Prompter) -> None:
        self.stage, self.prompter = stage, prompter
        self.backend = stage.spec.backend

    def request(self, item: Item) -> Request:
        """The decompose prompt for one doc."""
        return self.prompter.request(item, "decompose", self.stage.spec.gen)

    def accept(self, item: Item, gen: Generation) -> None:
        """One doc's generation -> its sub-questions and flags."""
        item.decomposition = gen
        item.subquestions = parse_subquestions(gen.output, self.prompter.cap(item))
        if not item.subquestions:  # "No decomposition", or no line with a '?' (the paper's rule)
            item.flags.append("no_decomposition")

    def decompose(self, items: list[Item]) -> None:
        gens = self.stage.generate([self.request(item) for item in items])
        for item, gen in zip(items, gens):
            self.accept(item, gen)


def build_decomposer(backend: str, stages: dict[str, Stage], prompter: Prompter) -> Decomposer:
    """The strategy a config's decomposer backend names (a model backend: its stage)."""
    if backend == "none":
        return NoDecomposer()
    if backend == "oracle":
        return OracleDecomposer(prompter)
    return ModelDecomposer(stages["decomposer"], prompter)
