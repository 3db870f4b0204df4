"""The ``two_stage`` lm-eval model: lm-eval's side of the two-stage core (model/two_stage.py).

lm-eval hands it ``Instance``s; they become the core's typed items, the core decomposes and
solves them, and the solutions go back as lm-eval's outputs. lm-eval's plumbing lives here:
data parallel ranks and collectives, chat templating (marked histories each stage templates
itself), loglikelihood (the solver's), and the traces handed to the tracker.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lm_eval.api.model import LM

from harness_ext.lmeval.args import parse_args_string
from harness_ext.lmeval.backends import LMEVAL
from harness_ext.lmeval.chat import item_of, mark_chat, unmark_chat
from harness_ext.lmeval.models import parse_model_args
from harness_ext.lmeval.pool import ModelPool
from harness_ext.lmeval.samples import doc_hash
from harness_ext.model.spec import TwoStageConfig
from harness_ext.model.two_stage import TwoStage
from harness_ext.records import merge_ranks


class TwoStageLM(TwoStage, LM):
    """lm-eval model ``two_stage``: any decomposer backend (or none / oracle) + any solver backend.

    ``pool`` shares loaded inner models between instances (a study's cells); without one the
    model owns a private pool, so equal decomposer and solver specs still load once.
    """

    def __init__(self, pool: ModelPool | None = None, **kwargs: Any) -> None:
        self._setup(parse_model_args(kwargs), pool)

    @classmethod
    def from_config(cls, config: TwoStageConfig, pool: ModelPool | None = None) -> TwoStageLM:
        """From a config already validated (a planned study cell): nothing is parsed again."""
        lm = cls.__new__(cls)
        lm._setup(config, pool)
        return lm

    def _setup(self, config: TwoStageConfig, pool: ModelPool | None) -> None:
        LM.__init__(self)
        self.pool = pool if pool is not None else ModelPool()
        TwoStage.__init__(self, config, self.pool.get, LMEVAL, doc_hash)

    # -- lm-eval plumbing -------------------------------------------------------------
    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None):
        # lm-eval passes --batch_size/--device beside model_args; a key in both must not be a
        # duplicate keyword: model_args win, as they are the more specific.
        extra = {k: v for k, v in (additional_config or {}).items() if v is not None and k not in arg_dict}
        return cls(**arg_dict, **extra)

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict[str, Any] | None = None):
        return cls.create_from_arg_obj(parse_args_string(arg_string), additional_config)

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
            everyone = self._gather((self.book.by_task, self.book.solver_texts), dst)
            if everyone is not None:
                self.book.merged = merge_ranks([by_task for by_task, _ in everyone])
                for _, texts in everyone:
                    self.book.solver_texts.update(texts)
        return gathered

    def barrier(self) -> None:
        acc = self._cpu_accelerator()
        acc.wait_for_everyone() if acc else self.solver.lm.barrier()

    @property
    def tokenizer_name(self) -> str:
        return "+".join(getattr(s.lm, "tokenizer_name", s.spec.name) for s in self.stages.values())

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return self.solver.lm.chat_template(chat_template)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        # Each stage applies its own model's template later; keep the messages intact.
        for stage in self.stages.values():
            stage.chat = True
        return mark_chat(chat_history, add_generation_prompt)

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        return self.solver.lm.loglikelihood([self._solver_context(r) for r in requests])

    def _solver_context(self, request):
        """A marked chat context (--apply_chat_template) as the solver's own template renders it."""
        context = request.args[0]
        chat = unmark_chat(context)
        if chat is None:
            return request
        text = self.solver.render_messages(chat.messages, chat.text, chat.generation_prompt)
        if isinstance(text, str):  # the samples file shows this, not the marker (lmeval/tracker.py)
            self.book.solver_texts[context] = text
        return dataclasses.replace(request, arguments=(text, *request.args[1:]))

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        return self.solver.lm.loglikelihood_rolling(requests)

    def get_model_info(self) -> dict[str, Any]:
        """lm-eval merges this into ``results["config"]``: both stage specs as ``dq``, and the
        traces, which lmeval/tracker.py takes out again and writes beside the samples."""
        # lazily: the tracker loads lm-eval's tracker module, which the post-import hook patches
        from harness_ext.lmeval.tracker import TRACE_KEY

        return {"dq": self.book.describe, TRACE_KEY: self.book}

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        return [s.output for s in self.run([item_of(r) for r in requests])]
