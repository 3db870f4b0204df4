"""Static decomposer strategies: where each doc's sub-questions come from.

One small protocol, one class per strategy. ``TwoStageLM`` builds one from its config
(:func:`build_decomposer`) and calls ``decompose(items)`` on every batch in static mode; a new
decomposer is a new class here, not a new branch in the model. Dynamic mode (dynamic.py) asks
its own per-round questions and does not go through these classes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from dq_tasks.constants import DEFAULT_CAP
from harness_ext.errors import DQError
from harness_ext.lmeval.samples import doc_hash
from harness_ext.model.items import Item
from harness_ext.model.parsing import parse_subquestions
from harness_ext.model.prompts import Kind
from harness_ext.model.records import Flag, TraceRecord, portable
from harness_ext.model.spec import REPLAY, StageSpec, TwoStageConfig
from harness_ext.model.stages import Generation, Request, Stage, StageStats

log = logging.getLogger(__name__)


class Prompter(Protocol):
    """What a strategy needs from the two_stage model: the doc's cap and its prompts."""

    config: TwoStageConfig

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


# Flags the decomposer sets (the solver side adds single_stage and truncated itself).
DECOMPOSER_FLAGS: tuple[Flag, ...] = ("no_decomposition",)


class ReplayDecomposer:
    """``decomposer=replay,decomposer.path=PATH``: each doc's sub-questions from recorded traces
    (a static two_stage run's), matched by task and doc_hash. Nothing is generated: the recorded
    decomposer view rides along marked cached, and ``stats`` counts its tokens as not generated.

    ``args`` is the replay spec's (spec._replay_args): the path and, per task, the sha256 of the
    traces file the results file names; a file that changed since is refused, not replayed."""

    backend = REPLAY

    def __init__(self, args: dict[str, Any] | str | Path, prompter: Prompter) -> None:
        from harness_ext.rundir import traces_files

        if not isinstance(args, dict):  # a bare path (no hashes to hold the files to)
            args = {"path": str(args)}
        self.path, self.prompter = str(args["path"]), prompter
        self.files = traces_files(self.path)
        self.recorded: dict[str, dict[str, Any]] = dict(args.get("traces") or {})
        self.stats = StageStats()  # the recorded tokens; generated, calls and seconds stay 0
        self.replayed = 0  # docs
        self._by_task: dict[str, dict[str, TraceRecord]] = {}
        self._warned: set[str] = set()

    def decompose(self, items: list[Item]) -> None:
        for task in dict.fromkeys(item.task or "" for item in items):
            self._records(task)  # a task or file that cannot be read is one error, before any doc
        matched, missing = [], []
        for item in items:  # every doc is checked before any is used
            try:
                matched.append(self._lookup(item))
            except DQError as exc:
                missing.append(exc)
        if missing:
            more = f" ({len(missing) - 1} more docs of this batch too)" if len(missing) > 1 else ""
            raise DQError(f"{missing[0]}{more}")
        for item, rec in zip(items, matched):
            self._warn_if_settings_differ(item)
            item.subquestions = list(rec.subquestions)[: self.prompter.cap(item)]
            item.flags.extend(f for f in rec.flags if f in DECOMPOSER_FLAGS)
            item.replayed_from = portable(str(self.files[item.task or ""].resolve()))
            if rec.decomposer is not None:
                v = rec.decomposer
                item.decomposition = Generation(
                    v.prompt,
                    v.output,
                    v.prompt_tokens,
                    v.completion_tokens,
                    v.seconds,
                    True,
                    v.token_source,
                    v.truncated,
                )
                self.stats.prompt_tokens += v.prompt_tokens or 0
                self.stats.completion_tokens += v.completion_tokens or 0
            self.replayed += 1

    def _warn_if_settings_differ(self, item: Item) -> None:
        """A recording made with another prompt set or cap still replays (the solver side is
        this run's), but not as a live decomposer with these settings would have: say so, once
        per task. Sub-questions are cut to this run's cap, never extended."""
        task = item.task or ""
        rec = self.recorded.get(task, {})
        if task in self._warned or rec.get("results") is None:  # unknown without its results file
            return
        now_cap = self.prompter.cap(item)
        then_cap = rec.get("max_subquestions") or int(item.doc.get("max_subquestions") or DEFAULT_CAP)
        differ = [f"cap {then_cap} sub-questions, this run {now_cap}"] if then_cap != now_cap else []
        if rec.get("prompts") != self.prompter.config.prompts:
            differ.append(f"prompts={rec.get('prompts')}, this run prompts={self.prompter.config.prompts}")
        if differ:
            self._warned.add(task)
            log.warning(
                "dq: warning: decomposer=replay: %s (task %s) was recorded with %s; its sub-questions are "
                "replayed as recorded (cut to this run's cap, never extended)",
                rec.get("file"),
                task,
                "; ".join(differ),
            )

    def _records(self, task: str) -> dict[str, TraceRecord]:
        if task not in self._by_task:
            from harness_ext.rundir import read_traces, sha256_of

            if task not in self.files:
                raise DQError(
                    f"decomposer.path={self.path} has no traces for task {task} (it has {', '.join(sorted(self.files))}); "
                    "point it at a run of this task"
                )
            source = self.files[task]
            named = self.recorded.get(task, {}).get("sha256")
            if named not in (None, sha256_of(source)):
                raise DQError(
                    f"{source} changed after this run named it (sha256 {str(named)[:12]}); "
                    "is a run still writing it? start the replay again"
                )
            records = read_traces(source)
            dynamic = next((r for r in records if r.mode != "static"), None)
            if dynamic is not None:
                raise DQError(
                    f"{source}: doc {dynamic.doc_id} was recorded in mode={dynamic.mode}; "
                    "decomposer=replay replays a static run's sub-questions"
                )
            self._by_task[task] = {}
            for rec in records:  # lm-eval may repeat a doc (equal hash): its first record holds
                self._by_task[task].setdefault(rec.doc_hash, rec)
        return self._by_task[task]

    def _lookup(self, item: Item) -> TraceRecord:
        task = item.task or ""
        records, digest = self._records(task), doc_hash(item.doc)
        if digest in records:
            return records[digest]
        source = self.files[task]
        same_id = next((r for r in records.values() if r.doc_id == item.doc_id), None)
        if same_id is not None:
            raise DQError(
                f"decomposer=replay: task {task} doc {item.doc_id} has doc_hash {digest[:12]}, but {source} recorded "
                f"doc {item.doc_id} with doc_hash {same_id.doc_hash[:12]}: the docs differ (data or task version); "
                "record the decomposition again on these docs"
            )
        older = sorted(set(source.parent.glob(f"traces_{task}_*.jsonl")) - {source})
        hint = (
            f", or name one of the {len(older)} older traces of {task} beside it (e.g. {older[-1].name})"
            if older
            else ""
        )
        raise DQError(
            f"decomposer=replay: task {task} doc {item.doc_id} (doc_hash {digest[:12]}) is not in {source} "
            f"({len(records)} docs recorded); replay a run that covered these docs (e.g. the same --limit){hint}"
        )


def build_decomposer(spec: StageSpec, stages: dict[str, Stage], prompter: Prompter) -> Decomposer:
    """The strategy a config's decomposer spec names (a model backend: its stage)."""
    if spec.backend == "none":
        return NoDecomposer()
    if spec.backend == "oracle":
        return OracleDecomposer(prompter)
    if spec.backend == REPLAY:
        return ReplayDecomposer(spec.args, prompter)
    return ModelDecomposer(stages["decomposer"], prompter)
