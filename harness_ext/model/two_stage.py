"""The two-stage core: decompose (batched) -> parse -> solve (batched), over typed items.

Data path per batch of docs: task doc -> decompose prompt -> decomposer -> parse -> solve
prompt -> solver. No framework types here: the lm-eval adapter (harness_ext/lmeval/two_stage.py)
turns lm-eval's requests into :class:`Item` s, passes in how to load and call inner models
(model/backends.py) and lm-eval's doc hash, and hands the outputs back to lm-eval.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from dq_tasks.constants import DEFAULT_CAP
from dq_tasks.prompting import Kind, doc_variables, get_prompt_set
from harness_ext.model.backends import Backends
from harness_ext.model.cache import StageCache
from harness_ext.model.decomposers import Decomposer, ModelDecomposer, build_decomposer
from harness_ext.model.dynamic import run_dynamic, totals, view
from harness_ext.model.items import Item, stage_view, with_exemplars
from harness_ext.model.pipeline import StaticPlan, stream, streams
from harness_ext.model.runtime import describe_runtime
from harness_ext.model.spec import StageSpec, TwoStageConfig
from harness_ext.model.stages import Generation, Request, Stage
from harness_ext.records import TraceBook, TraceRecord


class TwoStage:
    """Any decomposer (a model stage, or none / oracle / replay) + a solver stage.

    ``load`` gives the inner model of a stage spec (the adapter's pool: equal specs load once);
    ``backends`` says how to call it; ``doc_hash`` is the framework's hash of a doc, which
    traces carry so they join the framework's samples.
    """

    def __init__(
        self,
        config: TwoStageConfig,
        load: Callable[[StageSpec], Any],
        backends: Backends,
        doc_hash: Callable[[dict[str, Any]], str],
    ) -> None:
        self.config = config
        self.prompts = get_prompt_set(str(self.config.prompts))
        self._doc_hash = doc_hash
        cache = StageCache(self.config.cache) if self.config.cache else None
        self.stages: dict[str, Stage] = {}
        for spec in (self.config.decomposer, self.config.solver):
            if spec.is_model:
                self.stages[spec.role] = Stage(spec, load(spec), backends, cache)
        self.decomposer: Decomposer = build_decomposer(self.config.decomposer, self.stages, self)
        runtime = describe_runtime(self.device)
        self.book = TraceBook(self.config.label, {**self.config.to_dict(), "runtime": runtime})

    @property
    def solver(self) -> Stage:
        return self.stages["solver"]

    @property
    def device(self):
        return getattr(self.solver.lm, "device", "cpu")

    def doc_hash(self, doc: dict[str, Any]) -> str:
        return self._doc_hash(doc)

    def traces_for(self, task: str) -> list[dict[str, Any]]:
        """This run's trace records for ``task``, in the JSONL shape."""
        return self.book.records(task)

    def close(self) -> None:
        """Release the stage cache (the pool's owner releases the models)."""
        stage = next(iter(self.stages.values()), None)
        if stage is not None and stage.cache is not None:
            stage.cache.close()

    # -- the two stages ---------------------------------------------------------------
    def run(self, items: list[Item]) -> list[Generation]:
        """Both stages over one batch of docs; every doc's trace goes into the book."""
        if not items:
            return []
        if self.config.mode == "dynamic":
            solutions = run_dynamic(self, items)
        elif isinstance(self.decomposer, ModelDecomposer) and streams(self.config, self.stages):
            plan = StaticPlan(self.decomposer.request, self.decomposer.accept, self.solve_request)
            solutions = stream(self.stages, items, plan, {role: len(items) for role in self.stages})
        else:
            self.decompose(items)
            solutions = self.solve(items)
        for item, sol in zip(items, solutions):
            self._record(item, sol)
        return solutions

    def cap(self, item: Item) -> int:
        if self.config.max_subquestions is not None:
            return self.config.max_subquestions
        return int(item.doc.get("max_subquestions") or DEFAULT_CAP)

    def variables(self, item: Item, **extra: Any) -> dict[str, Any]:
        """The template variables of one doc (prompts.doc_variables plus the cap)."""
        return doc_variables(item.doc, question=item.question, max_subquestions=self.cap(item), **extra)

    def decompose(self, items: list[Item]) -> None:
        self.decomposer.decompose(items)

    def solve(self, items: list[Item]) -> list[Generation]:
        return self.solver.generate([self.solve_request(item) for item in items], chat_ready=True)

    def solve_request(self, item: Item) -> Request:
        """One doc's solver request, chat-ready: the solve prompt, or single-stage without
        sub-questions."""
        gen_kwargs = {**item.gen_kwargs, **self.config.solver.gen}
        if item.subquestions:
            req = self.request(item, "solve", gen_kwargs)
            req.prompt, req.chat = with_exemplars(item, req.prompt)  # --num_fewshot reaches the solver
        else:
            req = self.single(item, gen_kwargs)
        # Prompts we render still need the solver's chat template; lm-eval's chat histories
        # come as a Chat (or plain text when chat templating is off).
        req.prompt = self.solver_prompt(req)
        return req

    # -- the interface dynamic mode builds on ----------------------------------------------
    def single(self, item: Item, gen_kwargs: dict[str, Any]) -> Request:
        """No sub-questions: the single-stage prompt (lm-eval's own, or the cot template)."""
        item.flags.append("single_stage")
        if self.config.baseline == "cot" and "question" in item.doc:
            return self.request(item, "cot", gen_kwargs)
        return Request(item.context, gen_kwargs, "task-context", item.task, item.doc_id, item.doc, item.chat)

    def request(self, item: Item, kind: Kind, gen_kwargs: dict[str, Any], **extra: Any) -> Request:
        """A stage request from the prompt set's template ``kind`` for this doc."""
        variables = self.variables(item, subquestions=item.subquestions, **extra)
        prompt = self.prompts.render(item.task, kind, **variables)
        template_id = hashlib.sha256(self.prompts.source_id(item.task, kind).encode()).hexdigest()[:16]
        return Request(prompt, dict(gen_kwargs), template_id, item.task, item.doc_id, item.doc)

    def solver_prompt(self, req: Request) -> str:
        """The request's prompt with the solver's chat template applied (when chat is on)."""
        if req.chat is not None:
            return self.solver.render_messages(req.chat.messages, req.prompt, req.chat.generation_prompt)
        return self.solver.render_chat(req.prompt)

    def _record(self, item: Item, sol: Generation) -> None:
        record = TraceRecord(
            task=item.task,
            doc_id=item.doc_id,
            doc_hash=self.doc_hash(item.doc),
            mode=self.config.mode,
            subquestions=item.subquestions,
            flags=item.flags,
            decomposer=stage_view(item.decomposition) if item.decomposition else None,
            decomposer_backend=self.config.decomposer.backend,
            solver=stage_view(sol),
            replayed_from=item.replayed_from,
        )
        if sol.truncated:
            item.flags.append("truncated")
        if self.config.mode == "dynamic":
            record.rounds = item.rounds
            record.decomposer_totals = totals(item.decomposer_views)
            record.solver_totals = totals([r["solver"] for r in item.rounds] + [view(sol)])
        self.book.add(record)
