"""A stage: one inner lm-eval model plus its generation kwargs, called once per batch."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM

from harness_ext.cache import StageCache, cache_key
from harness_ext.errors import DQError
from harness_ext.packaged import resolve_pretrained
from harness_ext.spec import StageSpec

# Loaded inner models by spec: identical decomposer and solver specs (and study cells that
# reuse a model) share one instance.
_LOADED: dict[str, LM] = {}


def load_inner(spec: StageSpec) -> LM:
    key = spec.model_key()
    if key not in _LOADED:
        from lm_eval.api.registry import get_model

        args = dict(spec.args)
        if "pretrained" in args:
            args["pretrained"] = resolve_pretrained(args["pretrained"])
        if spec.backend in ("hf", "huggingface") and "pretrained" not in args:
            raise DQError(f"{spec.role}=hf needs {spec.role}.pretrained=<model dir or packaged name>")
        _LOADED[key] = get_model(spec.backend).create_from_arg_obj(args, {})
    return _LOADED[key]


@dataclass
class Request:
    """What a stage needs to generate for one doc."""

    prompt: str
    gen_kwargs: dict[str, Any]
    template_id: str = ""
    task: str | None = None
    doc_id: int | None = None
    doc: dict = field(default_factory=dict)


@dataclass
class Generation:
    prompt: str  # as sent, chat template applied
    output: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float  # this doc's share of the batched call; 0 for a cache hit
    cached: bool = False


@dataclass
class StageStats:
    """Running totals, for cost accounting."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    generated: int = 0  # completion tokens produced now, not read from cache
    cache_hits: int = 0
    seconds: float = 0.0

    def add(self, gens: list[Generation]) -> None:
        for g in gens:
            self.prompt_tokens += g.prompt_tokens or 0
            self.completion_tokens += g.completion_tokens or 0
            self.cache_hits += int(g.cached)
            self.generated += 0 if g.cached else (g.completion_tokens or 0)
            self.seconds += g.seconds


class Stage:
    def __init__(self, spec: StageSpec, lm: LM, cache: StageCache | None = None, chunk: int = 64):
        self.spec, self.lm, self.cache, self.chunk = spec, lm, cache, chunk
        self.chat = False
        self.stats = StageStats()

    @property
    def has_chat_template(self) -> bool:
        tokenizer = getattr(self.lm, "tokenizer", None)
        # API backends template server-side; a base model (gemma3-270m) has none: plain text.
        return tokenizer is None or bool(getattr(tokenizer, "chat_template", None))

    def render_chat(self, prompt: str) -> str:
        return self.render_messages([{"role": "user", "content": prompt}], fallback=prompt)

    def render_messages(self, messages: list[dict[str, str]], fallback: str) -> str:
        if not self.chat or not self.has_chat_template:
            return fallback
        return self.lm.apply_chat_template(messages, add_generation_prompt=True)

    def count(self, text: str) -> int | None:
        encode = getattr(self.lm, "tok_encode", None)
        return len(encode(text)) if callable(encode) else None

    def generate(self, requests: list[Request], chat_ready: bool = False) -> list[Generation]:
        """All requests in one inner call (per cache chunk when caching is on)."""
        prompts = [r.prompt if chat_ready else self.render_chat(r.prompt) for r in requests]
        keys = [cache_key(self.spec.model_key(), r.template_id, p, r.gen_kwargs) for r, p in zip(requests, prompts)]
        hits = self.cache.get_many(keys) if self.cache else {}
        out: dict[int, Generation] = {
            i: Generation(prompts[i], hits[k]["output"], hits[k]["prompt_tokens"], hits[k]["completion_tokens"], 0.0, True)
            for i, k in enumerate(keys) if k in hits
        }
        todo = [i for i in range(len(requests)) if i not in out]
        step = self.chunk if self.cache else max(len(todo), 1)
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            gens = self._call([requests[i] for i in batch], [prompts[i] for i in batch])
            out.update(zip(batch, gens))
            if self.cache:
                self.cache.put_many([(keys[i], g.output, g.prompt_tokens, g.completion_tokens, g.seconds) for i, g in zip(batch, gens)])
        result = [out[i] for i in range(len(requests))]
        self.stats.add(result)
        return result

    def _call(self, requests: list[Request], prompts: list[str]) -> list[Generation]:
        instances = [
            Instance("generate_until", r.doc, (p, dict(r.gen_kwargs)), i, (r.task, r.doc_id, 1))
            for i, (r, p) in enumerate(zip(requests, prompts))
        ]
        start = time.perf_counter()
        outputs = self.lm.generate_until(instances)
        seconds = (time.perf_counter() - start) / max(len(instances), 1)
        self.stats.calls += 1
        return [Generation(p, o, self.count(p), self.count(o), seconds) for p, o in zip(prompts, outputs)]
