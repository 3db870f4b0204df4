"""A stage: one inner model plus its generation kwargs, called once per batch.

The inner model is whatever the framework loaded (an lm-eval LM under the adapter); the stage
calls it only through the ``Backends`` it is given (model/backends.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from harness_ext.model.backends import Backends, Request, prompt_key
from harness_ext.model.cache import StageCache, cache_key
from harness_ext.model.spec import StageSpec

STAGE_LABELS = {"decomposer": "decompose", "solver": "solve"}


def progress_bar(label: str, total: int | None, initial: int = 0, position: int | None = None):
    """One bar per stage call; off when stderr is not a terminal unless DQ_PROGRESS=1. The
    streaming pipeline shows one per stage at once (``position``); ``total=None``: open-ended."""
    import os
    import sys

    from tqdm import tqdm

    shown = os.environ.get("DQ_PROGRESS", "1" if sys.stderr.isatty() else "0") == "1"
    return tqdm(
        total=total,
        initial=initial,
        desc=label,
        unit="doc" if total is not None else "call",
        disable=not shown or total == 0,
        position=position,
        file=sys.stderr,
    )


@dataclass
class Generation:
    prompt: str  # as sent, chat template applied
    output: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float  # this doc's share of the batched call; 0 for a cache hit
    cached: bool = False
    # Where the token counts come from: "usage" (the server's response), "tokenizer" (the
    # model's tokenizer, counted here) or None (not counted).
    token_source: str | None = None
    truncated: bool = False  # stopped by max_gen_toks, not by a stop sequence or EOS


def _hit_limit(gen: Generation, gen_kwargs: dict[str, Any]) -> bool:
    limit = gen_kwargs.get("max_gen_toks")
    return gen.completion_tokens is not None and limit is not None and gen.completion_tokens >= int(limit)


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
    def __init__(
        self, spec: StageSpec, lm: Any, backends: Backends, cache: StageCache | None = None, chunk: int = 64
    ) -> None:
        self.spec, self.lm, self.backends, self.cache, self.chunk = spec, lm, backends, cache, chunk
        self.chat = False
        self.stats = StageStats()

    @property
    def served(self) -> bool:
        """An API backend: a server batches, retries and (for chat endpoints) templates."""
        return self.backends.is_api(self.lm)

    @property
    def has_chat_template(self) -> bool:
        if self.backends.is_chat_api(self.lm):
            return True  # the server templates the messages
        tokenizer = getattr(self.lm, "tokenizer", None)
        # A completions API without a tokenizer cannot template; other backends with no
        # tokenizer template themselves; a base model (gemma3-270m) has none: plain text.
        if tokenizer is None:
            return not self.served
        return bool(getattr(tokenizer, "chat_template", None))

    def render_chat(self, prompt: str) -> str:
        return self.render_messages([{"role": "user", "content": prompt}], fallback=prompt)

    def render_messages(self, messages: list[dict[str, str]], fallback: str, generation_prompt: bool = True):
        """The stage's own chat template over ``messages``; ``generation_prompt`` False
        continues the last (assistant) message instead of opening a new turn."""
        if self.backends.is_chat_api(self.lm):
            # A chat endpoint only takes messages: without chat templating on, the plain
            # prompt goes as one user message (the server still applies its template).
            return self.backends.chat_prompt(messages if self.chat else [{"role": "user", "content": fallback}])
        if not self.chat or not self.has_chat_template:
            return fallback
        if self.served:
            # A completions endpoint takes text: template it here with the model's tokenizer
            # (lm-eval's API apply_chat_template returns JSON messages unless tokenized_requests).
            cont = {} if generation_prompt else {"continue_final_message": True}  # as lm-eval's API models
            return self.lm.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=generation_prompt, **cont
            )
        return self.lm.apply_chat_template(messages, add_generation_prompt=generation_prompt)

    def count(self, text) -> int | None:
        if self.served:
            # API tok_encode is the identity for chat endpoints and [text] without a tokenizer.
            tokenizer = getattr(self.lm, "tokenizer", None)
            if getattr(self.lm, "tokenizer_backend", None) != "huggingface" or tokenizer is None:
                return None
            if not isinstance(text, str):  # chat messages: count them as templated
                return len(
                    tokenizer.apply_chat_template(
                        json.loads(prompt_key(text)), tokenize=True, add_generation_prompt=True
                    )
                )
            return len(tokenizer(text, add_special_tokens=False).input_ids)
        encode = getattr(self.lm, "tok_encode", None)
        return len(encode(text)) if callable(encode) else None

    def _source_for_hit(self, hit: dict) -> str | None:
        # The cache keeps counts, not their source; the same backend and args produced them.
        if hit["prompt_tokens"] is None:
            return None
        return "usage" if self.served else "tokenizer"

    def generate(self, requests: list[Request], chat_ready: bool = False, label: str | None = None) -> list[Generation]:
        """Every request, in inner calls of one batch each, under one labelled progress bar."""
        prompts = self.prompts(requests, chat_ready)
        keys = self.keys(requests, prompts)
        out = self.lookup(keys, prompts)
        todo = [i for i in range(len(requests)) if i not in out]
        step = self.chunk_size(len(todo))
        with progress_bar(label or STAGE_LABELS[self.spec.role], len(requests), initial=len(out)) as bar:
            for start in range(0, len(todo), step):
                batch = todo[start : start + step]
                gens = self._call([requests[i] for i in batch], [prompts[i] for i in batch])
                out.update(zip(batch, gens))
                self.store([keys[i] for i in batch], gens)
                bar.update(len(batch))
        result = [out[i] for i in range(len(requests))]
        self.finish(requests, result)
        return result

    # -- the pieces of generate, which the streaming pipeline (pipeline.py) uses one by one --
    def prompts(self, requests: list[Request], chat_ready: bool) -> list:
        return [r.prompt if chat_ready else self.render_chat(r.prompt) for r in requests]

    def keys(self, requests: list[Request], prompts: list) -> list[str]:
        return [
            cache_key(self.spec.output_key(), r.template_id, prompt_key(p), r.gen_kwargs)
            for r, p in zip(requests, prompts)
        ]

    def lookup(self, keys: list[str], prompts: list) -> dict[int, Generation]:
        """Cache hits by position (they skip the backend)."""
        hits = self.cache.get_many(keys) if self.cache else {}
        return {
            i: Generation(
                prompt_key(prompts[i]),
                hits[k]["output"],
                hits[k]["prompt_tokens"],
                hits[k]["completion_tokens"],
                0.0,
                True,
                self._source_for_hit(hits[k]),
            )
            for i, k in enumerate(keys)
            if k in hits
        }

    def store(self, keys: list[str], gens: list[Generation]) -> None:
        """Commit finished generations at once: an interrupted run keeps them."""
        if self.cache and keys:
            self.cache.put_many(
                [(k, g.output, g.prompt_tokens, g.completion_tokens, g.seconds) for k, g in zip(keys, gens)]
            )

    def finish(self, requests: list[Request], gens: list[Generation]) -> None:
        for req, gen in zip(requests, gens):
            gen.truncated = _hit_limit(gen, req.gen_kwargs)
        self.stats.add(gens)

    def chunk_size(self, n: int) -> int:
        """Requests per inner call: one batch, so the bar advances per finished batch (and the
        cache keeps what finished); the backend's own size when it is a number."""
        size = self.spec.args.get("batch_size")
        if self.served:  # a server batches (and retries) its own requests
            return self.chunk if self.cache else max(n, 1)
        if isinstance(size, int) or (isinstance(size, str) and size.isdigit()):
            return max(int(size), 1)
        return self.chunk if self.cache else max(n, 1)

    def _call(self, requests: list[Request], prompts: list) -> list[Generation]:
        start = time.perf_counter()
        outputs = self.backends.generate(self.spec.role, self.spec.backend, self.lm, requests, prompts)
        seconds = (time.perf_counter() - start) / max(len(requests), 1)
        self.stats.calls += 1
        gens = [self.generation(p, o, seconds) for p, o in zip(prompts, outputs)]
        self.backends.reset_usage(self.lm)
        return gens

    def generation(self, prompt, output: str, seconds: float) -> Generation:
        """The generation of one prompt: the server's usage counts when it sent them, else ours."""
        usage = self.backends.usage_for(self.lm, prompt)
        pt: int | None
        ct: int | None
        source: str | None
        if usage:
            pt, ct, source = usage["prompt_tokens"], usage["completion_tokens"], "usage"
        else:
            pt, ct = self.count(prompt), self.count(output)
            source = "tokenizer" if pt is not None else None
        return Generation(prompt_key(prompt), output, pt, ct, seconds, token_source=source)
