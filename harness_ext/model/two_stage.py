"""The ``two_stage`` lm-eval model: decompose (batched) -> parse -> solve (batched).

Data path per batch of requests: task doc -> decompose prompt -> decomposer -> parse ->
solve prompt -> solver -> lm-eval scores the output as it would any model's.
"""

from __future__ import annotations

import hashlib
from typing import Any

from lm_eval.api.model import LM

from dq_tasks.constants import DEFAULT_CAP
from harness_ext.lmeval.samples import doc_hash
from harness_ext.model.cache import StageCache
from harness_ext.model.decomposers import Decomposer, build_decomposer
from harness_ext.model.dynamic import run_dynamic, totals, view
from harness_ext.model.items import Item, chat_messages, chat_text, mark_chat, stage_view, with_exemplars
from harness_ext.model.prompts import Kind, doc_variables, get_prompt_set
from harness_ext.model.records import TraceBook, TraceRecord, merge_ranks
from harness_ext.model.runtime import describe_runtime
from harness_ext.model.spec import parse_model_args
from harness_ext.model.stages import Generation, ModelPool, Request, Stage


class TwoStageLM(LM):
    """lm-eval model ``two_stage``: any decomposer backend (or none / oracle) + any solver backend.

    ``pool`` shares loaded inner models between instances (a study's cells); without one the
    model owns a private pool, so equal decomposer and solver specs still load once.
    """

    def __init__(self, pool: ModelPool | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = parse_model_args(kwargs)
        self.prompts = get_prompt_set(str(self.config.prompts))
        self.pool = pool if pool is not None else ModelPool()
        cache = StageCache(self.config.cache) if self.config.cache else None
        self.stages: dict[str, Stage] = {}
        for spec in (self.config.decomposer, self.config.solver):
            if spec.is_model:
                self.stages[spec.role] = Stage(spec, self.pool.get(spec), cache)
        self.decomposer: Decomposer = build_decomposer(self.config.decomposer, self.stages, self)
        runtime = describe_runtime(self.device)
        self.book = TraceBook(self.config.label, {**self.config.to_dict(), "runtime": runtime})

    # -- lm-eval plumbing -------------------------------------------------------------
    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None):
        # lm-eval passes --batch_size/--device beside model_args; a key in both must not be a
        # duplicate keyword: model_args win, as they are the more specific.
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None and k not in arg_dict}
        return cls(**arg_dict, **extra)

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict[str, Any] | None = None):
        from harness_ext.lmeval.args import parse_args_string

        return cls.create_from_arg_obj(parse_args_string(arg_string), additional_config)

    @property
    def solver(self) -> Stage:
        return self.stages["solver"]

    # Data parallel (accelerate launch): the inner HF models own rank, world size and the
    # collectives; lm-eval's evaluator shards requests by these. On CPU (--cpu) HFLM keeps
    # world size 1 (it only counts GPUs) though it holds the multi-process accelerator: then
    # the accelerator's own rank, size and collectives are used.
    def _cpu_accelerator(self):
        inner = self.solver.lm
        acc = getattr(inner, "accelerator", None)
        if getattr(inner, "world_size", 1) > 1 or acc is None or getattr(acc, "num_processes", 1) <= 1:
            return None
        return acc

    @property
    def rank(self) -> int:
        acc = self._cpu_accelerator()
        return acc.process_index if acc else getattr(self.solver.lm, "rank", 0)

    @property
    def world_size(self) -> int:
        acc = self._cpu_accelerator()
        return acc.num_processes if acc else getattr(self.solver.lm, "world_size", 1)

    def all_gather(self, tensor):
        acc = self._cpu_accelerator()
        return acc.gather(tensor) if acc else self.solver.lm.all_gather(tensor)

    def _gather(self, obj, dst=0):
        acc = self._cpu_accelerator()
        if not acc:
            return self.solver.lm.gather_object(obj, dst)
        import torch.distributed

        result = [None] * acc.num_processes if acc.process_index == dst else None
        torch.distributed.gather_object(obj=obj, object_gather_list=result, dst=dst)
        return result

    def gather_object(self, obj, dst=0):
        # Every rank makes this call (lm-eval gathers samples and metrics after generating), so
        # the traces ride along: rank ``dst`` then writes every rank's traces, not its shard's.
        gathered = self._gather(obj, dst)
        if self.world_size > 1:
            everyone = self._gather(self.book.by_task, dst)
            if everyone is not None:
                self.book.merged = merge_ranks(everyone)
        return gathered

    def barrier(self) -> None:
        acc = self._cpu_accelerator()
        acc.wait_for_everyone() if acc else self.solver.lm.barrier()

    @property
    def device(self):
        return getattr(self.solver.lm, "device", "cpu")

    @property
    def tokenizer_name(self) -> str:
        return "+".join(getattr(s.lm, "tokenizer_name", s.spec.name) for s in self.stages.values())

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self.solver.lm.chat_template(chat_template)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        # Each stage applies its own model's template later; keep the messages intact.
        for stage in self.stages.values():
            stage.chat = True
        return mark_chat(chat_history)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        return self.solver.lm.loglikelihood(requests)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        return self.solver.lm.loglikelihood_rolling(requests)

    def get_model_info(self) -> dict[str, Any]:
        """lm-eval merges this into ``results["config"]``: both stage specs as ``dq``, and the
        traces, which lmeval/tracker.py takes out again and writes beside the samples."""
        from harness_ext.lmeval.tracker import TRACE_KEY

        return {"dq": self.book.describe, TRACE_KEY: self.book}

    def traces_for(self, task: str) -> list[dict[str, Any]]:
        """This run's trace records for ``task``, in the JSONL shape."""
        return self.book.records(task)

    def close(self) -> None:
        """Release the stage cache (the pool's owner releases the models)."""
        stage = next(iter(self.stages.values()), None)
        if stage is not None and stage.cache is not None:
            stage.cache.close()

    # -- the two stages ---------------------------------------------------------------
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        items = [Item(r.task_name, r.doc_id, r.doc or {}, r.args[0], dict(r.args[1])) for r in requests]
        if not items:
            return []
        if self.config.mode == "dynamic":
            solutions = run_dynamic(self, items)
        else:
            self.decompose(items)
            solutions = self.solve(items)
        for item, sol in zip(items, solutions):
            self._record(item, sol)
        return [s.output for s in solutions]

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
        reqs, chat_ready = [], True
        for item in items:
            gen_kwargs = {**item.gen_kwargs, **self.config.solver.gen}
            if item.subquestions:
                req = self.request(item, "solve", gen_kwargs)
                req.prompt = with_exemplars(item, req.prompt)  # --num_fewshot reaches the solver
                reqs.append(req)
            else:
                reqs.append(self.single(item, gen_kwargs))
        # Prompts we render still need the solver's chat template; lm-eval's contexts come
        # already marked (or plain when chat templating is off).
        prompts = [self.solver_prompt(r) for r in reqs]
        for r, p in zip(reqs, prompts):
            r.prompt = p
        return self.solver.generate(reqs, chat_ready=chat_ready)

    # -- the interface dynamic mode builds on ----------------------------------------------
    def single(self, item: Item, gen_kwargs: dict[str, Any]) -> Request:
        """No sub-questions: the single-stage prompt (lm-eval's own, or the cot template)."""
        item.flags.append("single_stage")
        if self.config.baseline == "cot" and "question" in item.doc:
            return self.request(item, "cot", gen_kwargs)
        return Request(item.context, gen_kwargs, "task-context", item.task, item.doc_id, item.doc)

    def request(self, item: Item, kind: Kind, gen_kwargs: dict[str, Any], **extra: Any) -> Request:
        """A stage request from the prompt set's template ``kind`` for this doc."""
        variables = self.variables(item, subquestions=item.subquestions, **extra)
        prompt = self.prompts.render(item.task, kind, **variables)
        template_id = hashlib.sha256(self.prompts.source_id(item.task, kind).encode()).hexdigest()[:16]
        return Request(prompt, dict(gen_kwargs), template_id, item.task, item.doc_id, item.doc)

    def solver_prompt(self, req: Request) -> str:
        """The request's prompt with the solver's chat template applied (when chat is on)."""
        messages = chat_messages(req.prompt)
        if messages is not None:
            return self.solver.render_messages(messages, fallback=chat_text(req.prompt))
        return self.solver.render_chat(req.prompt)

    def _record(self, item: Item, sol: Generation) -> None:
        record = TraceRecord(
            task=item.task,
            doc_id=item.doc_id,
            doc_hash=doc_hash(item.doc),
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
