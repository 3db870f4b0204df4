"""lm-eval's OpenAI-style API backends as two_stage stages: server token usage, clear faults.

lm-eval's TemplateAPI parses the generated text and drops the response's ``usage``. Every API
stage is loaded as a small subclass of its backend class (``UsageRecorder``) that keeps the
usage of each one-prompt request, keyed by the prompt as sent, so a stage reports the server's
own token counts. Works for the sync path (``num_concurrent=1``) and the async one.
"""

from __future__ import annotations

import contextvars
import json
import socket
from typing import Any
from urllib.parse import urlparse

from harness_ext.errors import DQError
from harness_ext.model.backends import prompt_key

# The contexts of the request an async task is sending (set in amodel_call, read in parse).
_CONTEXTS: contextvars.ContextVar[list | None] = contextvars.ContextVar("dq_api_contexts", default=None)


class UsageRecorder:
    """Mixin before a TemplateAPI class: records ``usage`` per prompt in ``self.dq_usage``."""

    dq_usage: dict[str, dict[str, int]]

    async def amodel_call(self, session, sem, messages, *, cache_keys=None, **kwargs):
        if cache_keys:
            _CONTEXTS.set([ck[0] if isinstance(ck, tuple) else None for ck in cache_keys])
        return await super().amodel_call(session, sem, messages, cache_keys=cache_keys, **kwargs)

    def parse_generations(self, outputs, contexts=None, **kwargs):
        texts = super().parse_generations(outputs=outputs, **kwargs)
        contexts = contexts if contexts is not None else _CONTEXTS.get()
        outs = outputs if isinstance(outputs, list) else [outputs]
        # One prompt per request (batch_size=1, the API default): its usage is its own.
        # A batched completions request reports one total; then the tokenizer counts.
        if contexts and len(contexts) == 1 and len(outs) == 1 and isinstance(outs[0], dict):
            usage = outs[0].get("usage") or {}
            if isinstance(usage.get("prompt_tokens"), int) and isinstance(usage.get("completion_tokens"), int):
                if not hasattr(self, "dq_usage"):
                    self.dq_usage = {}
                self.dq_usage[prompt_key(contexts[0])] = {
                    "prompt_tokens": usage["prompt_tokens"],
                    "completion_tokens": usage["completion_tokens"],
                }
        return texts

    def usage_for(self, prompt: Any) -> dict[str, int] | None:
        return getattr(self, "dq_usage", {}).get(prompt_key(prompt))


_WRAPPED: dict[type, type] = {}


def api_base():
    from lm_eval.models.api_models import TemplateAPI

    return TemplateAPI


def with_usage(cls: type) -> type:
    """``cls`` itself, or for an lm-eval API backend its usage-recording subclass."""
    try:
        base = api_base()
    except ImportError:
        return cls
    if not (isinstance(cls, type) and issubclass(cls, base)) or issubclass(cls, UsageRecorder):
        return cls
    if cls not in _WRAPPED:
        _WRAPPED[cls] = type(cls.__name__, (UsageRecorder, cls), {"__module__": __name__})
    return _WRAPPED[cls]


def is_api(lm: Any) -> bool:
    try:
        return isinstance(lm, api_base())
    except ImportError:
        return False


def is_chat_api(lm: Any) -> bool:
    """A chat-completions endpoint: takes JSON messages and templates them server-side."""
    try:
        from lm_eval.models.openai_completions import LocalChatCompletion
    except ImportError:
        return False
    return isinstance(lm, LocalChatCompletion)


def chat_messages(messages: list[dict[str, str]]):
    from lm_eval.models.api_models import JsonChatStr

    return JsonChatStr(json.dumps(messages, ensure_ascii=False))


def check_api_deps(role: str, backend: str) -> None:
    missing = []
    for mod in ("aiohttp", "tenacity", "requests"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise DQError(
            f"{role}={backend} needs {', '.join(missing)}: run `pip install 'lm-eval[api]==0.4.13'` "
            f"(or `pip install .[serve]`)"
        )


def probe(role: str, backend: str, base_url: str | None, timeout: float = 5.0) -> None:
    """Fail at load time, with one clear line, when nothing listens at ``base_url``."""
    if not base_url:
        raise DQError(
            f"{role}={backend} needs {role}.base_url=http://HOST:PORT/v1/"
            f"{'chat/' if 'chat' in backend else ''}completions"
        )
    url = urlparse(str(base_url))
    if url.scheme not in ("http", "https") or not url.hostname:
        raise DQError(f"{role}.base_url={base_url!r} is not an http(s) URL")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise DQError(
            f"{role}={backend}: cannot connect to {base_url} ({exc.strerror or exc}); is the server "
            f"running? (start one with `dq serve MODEL --port {port}`)"
        ) from None


def is_connection_fault(exc: BaseException) -> bool:
    """An error of the transport or the server, not of our code: worth one clear line."""
    import asyncio

    kinds: list[type] = [ConnectionError, TimeoutError, asyncio.TimeoutError]  # distinct before 3.11
    try:
        import requests

        kinds.append(requests.exceptions.RequestException)
    except ImportError:
        pass
    try:
        import aiohttp

        kinds.append(aiohttp.ClientError)
    except ImportError:
        pass
    return isinstance(exc, tuple(kinds))


def fault_error(role: str, backend: str, lm: Any, exc: BaseException) -> DQError:
    detail = f"{type(exc).__name__}: {exc}"
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "text", None):
        detail += f" -- server said: {response.text[:300]}"
    tries = getattr(lm, "max_retries", "?")
    return DQError(
        f"{role}={backend} at {getattr(lm, 'base_url', None)} failed after {tries} attempts ({detail[:500]}); "
        f"check or restart the server and rerun -- with cache=<sqlite path> the finished decompositions "
        f"and solutions are reused"
    )


# -- one request at a time, for the streaming pipeline (model/pipeline.py) --------------------


def concurrency(lm: Any) -> int:
    """The backend's own bound on requests in flight (lm-eval's ``num_concurrent``, at least 1)."""
    return max(1, int(getattr(lm, "_concurrent", 1) or 1))


def open_session(lm: Any):
    """An aiohttp session as lm-eval's async path opens one: ``num_concurrent`` connections and
    the backend's ``timeout`` per request."""
    from aiohttp import ClientSession, ClientTimeout, TCPConnector

    connector = TCPConnector(limit=concurrency(lm), ssl=lm.verify_certificate)
    return ClientSession(connector=connector, timeout=ClientTimeout(total=lm.timeout))


async def generate_one(lm: Any, session: Any, sem: Any, context: Any, gen_kwargs: dict[str, Any]) -> str:
    """One generate_until request through the backend's own ``amodel_call`` and retry policy,
    with the payload lm-eval's generate_until builds for a batch of one (same encoding, same
    left truncation), so a streamed request is the request the barrier path sends."""
    import copy

    from tenacity import retry, stop_after_attempt, wait_exponential

    message = context
    if lm.tokenized_requests:
        max_gen_toks = gen_kwargs.get("max_gen_toks", lm._max_gen_toks)
        message = lm.tok_encode([context], add_special_tokens=lm.add_bos_token)[0][-(lm.max_length - max_gen_toks) :]
    # lm-eval's sync path (num_concurrent <= 1) adds the EOS string to the stop sequences, its
    # async path does not: do what the barrier path would do with the same model_args.
    extra = {"eos": lm.eos_string} if int(getattr(lm, "_concurrent", 1) or 1) <= 1 else {}
    call = retry(
        stop=stop_after_attempt(lm.max_retries),
        wait=wait_exponential(multiplier=0.5, min=1, max=10),
        reraise=True,
    )(lm.amodel_call)
    answers = await call(
        session=session,
        sem=sem,
        messages=[message],
        cache_keys=[(context, gen_kwargs)],
        generate=True,
        gen_kwargs=copy.deepcopy(gen_kwargs),
        **extra,
    )
    return answers[0]
