"""The ``two_stage`` lm-eval model: decompose (batched) -> parse -> solve (batched).

Data path per batch of requests: task doc -> decompose prompt -> decomposer -> parse ->
solve prompt -> solver -> lm-eval scores the output as it would any model's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

from dq_tasks.constants import DEFAULT_CAP
from harness_ext.errors import DQError
from harness_ext.model import records as traces
from harness_ext.model.cache import StageCache
from harness_ext.model.dynamic import run_dynamic, totals, view
from harness_ext.model.parsing import parse_subquestions
from harness_ext.model.prompts import doc_variables, get_prompt_set
from harness_ext.model.spec import parse_model_args
from harness_ext.model.stages import Generation, Request, Stage, load_inner

CHAT_MARK = "\x00dq-chat:"  # prefix of a chat history that each stage templates itself


@dataclass
class Item:
    """One generate_until request, as the two stages see it."""

    task: str | None
    doc_id: int | None
    doc: dict
    context: str  # lm-eval's rendered prompt (or a chat history, marked)
    gen_kwargs: dict[str, Any]
    subquestions: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    decomposition: Generation | None = None
    rounds: list[dict[str, Any]] = field(default_factory=list)  # dynamic mode only
    pending: str = ""  # dynamic mode: the sub-question being answered
    round_decomposer: Generation | None = None  # dynamic mode: this round's decomposer call
    decomposer_views: list[dict[str, Any]] = field(default_factory=list)  # dynamic: every call

    @property
    def question(self) -> str:
        if "question" in self.doc:
            return str(self.doc["question"])
        return _chat_text(self.context)


def _chat_text(context: str) -> str:
    if not context.startswith(CHAT_MARK):
        return context
    return "\n\n".join(m["content"] for m in json.loads(context[len(CHAT_MARK) :]) if m["role"] != "system")


def doc_hash(doc: dict) -> str:
    # Same recipe as lm-eval's samples' doc_hash, so traces join to samples.
    from lm_eval.utils import handle_non_serializable, hash_string

    return hash_string(json.dumps(doc, indent=2, default=handle_non_serializable, ensure_ascii=False))


def merge_rank_traces(per_rank: list[dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """Each rank's traces -> one set by task, in doc order, each record tagged with its rank.

    lm-eval pads a short rank with copies of its last request; those copies (same doc id and
    hash) are dropped, keeping the first record of each doc.
    """
    merged: dict[str, dict[tuple, dict[str, Any]]] = {}
    for rank, by_task in enumerate(per_rank):
        for task, records in by_task.items():
            seen = merged.setdefault(task, {})
            for rec in records:
                seen.setdefault((rec.get("doc_id"), rec.get("doc_hash")), {**rec, "rank": rank})
    return {
        task: sorted(recs.values(), key=lambda r: (r.get("doc_id") is None, r.get("doc_id") or 0))
        for task, recs in merged.items()
    }


@register_model("two_stage")
class TwoStageLM(LM):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.config = parse_model_args(kwargs)
        self.prompts = get_prompt_set(str(self.config.prompts))
        cache = StageCache(self.config.cache) if self.config.cache else None
        self.stages: dict[str, Stage] = {}
        for spec in (self.config.decomposer, self.config.solver):
            if spec.is_model:
                self.stages[spec.role] = Stage(spec, load_inner(spec), cache)
        self._traces: dict[str, list[dict[str, Any]]] = {}
        traces.install_tracker_hook()

    # -- lm-eval plumbing -------------------------------------------------------------
    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None):
        # lm-eval passes --batch_size/--device beside model_args; a key in both must not be a
        # duplicate keyword: model_args win, as they are the more specific.
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None and k not in arg_dict}
        return cls(**arg_dict, **extra)

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict[str, Any] | None = None):
        from lm_eval.utils import simple_parse_args_string

        return cls.create_from_arg_obj(simple_parse_args_string(arg_string), additional_config)

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
            everyone = self._gather(self._traces, dst)
            if everyone is not None:
                self._merged_traces = merge_rank_traces(everyone)
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
        return CHAT_MARK + json.dumps(chat_history, ensure_ascii=False)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        return self.solver.lm.loglikelihood(requests)

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        return self.solver.lm.loglikelihood_rolling(requests)

    def describe(self) -> dict[str, Any]:
        return self.config.to_dict()

    def traces_for(self, task: str) -> list[dict[str, Any]]:
        merged = getattr(self, "_merged_traces", None)
        return (merged if merged is not None else self._traces).get(task, [])

    # -- the two stages ---------------------------------------------------------------
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        items = [Item(r.task_name, r.doc_id, r.doc or {}, r.args[0], dict(r.args[1])) for r in requests]
        if not items:
            return []
        traces.LAST_USED[:] = [self]
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
        return doc_variables(item.doc, question=item.question, max_subquestions=self.cap(item), **extra)

    def decompose(self, items: list[Item]) -> None:
        backend = self.config.decomposer.backend
        if backend == "none":
            return
        if backend == "oracle":
            for item in items:
                gold = item.doc.get("gold_subquestions")
                if not gold:
                    raise DQError(
                        f"decomposer=oracle needs gold_subquestions, but task {item.task!r} doc "
                        f"{item.doc_id} has none; use a task that has them (dq tasks) or another decomposer"
                    )
                item.subquestions = list(gold)[: self.cap(item)]
            return
        stage = self.stages["decomposer"]
        reqs = [self._request(item, "decompose", stage.spec.gen) for item in items]
        for item, gen in zip(items, stage.generate(reqs)):
            item.decomposition = gen
            item.subquestions = parse_subquestions(gen.output, self.cap(item))
            if not item.subquestions:  # "No decomposition", or no line with a '?' (the paper's rule)
                item.flags.append("no_decomposition")

    def solve(self, items: list[Item]) -> list[Generation]:
        reqs, chat_ready = [], True
        for item in items:
            gen_kwargs = {**item.gen_kwargs, **self.config.solver.gen}
            if item.subquestions:
                reqs.append(self._request(item, "solve", gen_kwargs))
            else:
                reqs.append(self._single(item, gen_kwargs))
        # Prompts we render still need the solver's chat template; lm-eval's contexts come
        # already marked (or plain when chat templating is off).
        prompts = [self._chat_for_solver(r) for r in reqs]
        for r, p in zip(reqs, prompts):
            r.prompt = p
        return self.solver.generate(reqs, chat_ready=chat_ready)

    def _single(self, item: Item, gen_kwargs: dict[str, Any]) -> Request:
        """No sub-questions: the single-stage prompt (lm-eval's own, or the cot template)."""
        item.flags.append("single_stage")
        if self.config.baseline == "cot" and "question" in item.doc:
            return self._request(item, "cot", gen_kwargs)
        return Request(item.context, gen_kwargs, "task-context", item.task, item.doc_id, item.doc)

    def _request(self, item: Item, kind: str, gen_kwargs: dict[str, Any], **extra: Any) -> Request:
        variables = self.variables(item, subquestions=item.subquestions, **extra)
        prompt = self.prompts.render(item.task, kind, **variables)
        template_id = hashlib.sha256(self.prompts.source_id(item.task, kind).encode()).hexdigest()[:16]
        return Request(prompt, dict(gen_kwargs), template_id, item.task, item.doc_id, item.doc)

    def _chat_for_solver(self, req: Request) -> str:
        if req.prompt.startswith(CHAT_MARK):
            messages = json.loads(req.prompt[len(CHAT_MARK) :])
            return self.solver.render_messages(messages, fallback=_chat_text(req.prompt))
        return self.solver.render_chat(req.prompt)

    def _record(self, item: Item, sol: Generation) -> None:
        def stage_view(gen: Generation | None) -> dict[str, Any] | None:
            if gen is None:
                return None
            return {
                "prompt": gen.prompt,
                "output": gen.output,
                "prompt_tokens": gen.prompt_tokens,
                "completion_tokens": gen.completion_tokens,
                "seconds": round(gen.seconds, 4),
                "cached": gen.cached,
                "token_source": gen.token_source,
            }

        record = {
            "task": item.task,
            "doc_id": item.doc_id,
            "doc_hash": doc_hash(item.doc),
            "mode": self.config.mode,
            "subquestions": item.subquestions,
            "flags": item.flags,
            "decomposer": stage_view(item.decomposition) or {"backend": self.config.decomposer.backend},
            "solver": stage_view(sol),
        }
        if self.config.mode == "dynamic":
            record["rounds"] = item.rounds
            record["final"] = record["solver"]
            record["decomposer"] = {"backend": self.config.decomposer.backend, **totals(item.decomposer_views)}
            solver_views = [r["solver"] for r in item.rounds] + [view(sol)]
            record["solver"] = {**stage_view(sol), **totals(solver_views)}
        self._traces.setdefault(item.task or "", []).append(record)
