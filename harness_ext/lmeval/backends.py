"""lm-eval's model classes behind the core's ``Backends`` protocol (model/backends.py).

A stage hands over typed requests; here they become lm-eval ``Instance``s for the inner model's
``generate_until``, and a served backend's faults become one clear error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lm_eval.api.instance import Instance

from harness_ext.lmeval import apis
from harness_ext.model.backends import Request


@dataclass(frozen=True)
class LmEvalBackends:
    """The ``Backends`` of inner models loaded from lm-eval's registry (lmeval/pool.py)."""

    def is_api(self, lm: Any) -> bool:
        return apis.is_api(lm)

    def is_chat_api(self, lm: Any) -> bool:
        return apis.is_chat_api(lm)

    def chat_prompt(self, messages: list[dict[str, str]]) -> Any:
        return apis.chat_messages(messages)

    def generate(self, role: str, backend: str, lm: Any, requests: list[Request], prompts: list) -> list[str]:
        instances = [
            Instance("generate_until", r.doc, (p, dict(r.gen_kwargs)), i, (r.task, r.doc_id, 1))
            for i, (r, p) in enumerate(zip(requests, prompts))
        ]
        try:
            if apis.is_api(lm):
                return lm.generate_until(instances)
            return lm.generate_until(instances, disable_tqdm=True)  # the stage's bar is labelled
        except Exception as exc:
            # A dead or failing server, after the backend's own bounded retries (max_retries).
            if apis.is_api(lm) and apis.is_connection_fault(exc):
                raise apis.fault_error(role, backend, lm, exc) from exc
            raise

    def usage_for(self, lm: Any, prompt: Any) -> dict[str, int] | None:
        return lm.usage_for(prompt) if isinstance(lm, apis.UsageRecorder) else None

    def reset_usage(self, lm: Any) -> None:
        if isinstance(lm, apis.UsageRecorder):
            lm.dq_usage = {}

    def concurrency(self, lm: Any) -> int:
        return apis.concurrency(lm)

    def open_session(self, lm: Any) -> Any:
        return apis.open_session(lm)

    async def generate_one(
        self, role: str, backend: str, lm: Any, session: Any, sem: Any, context: Any, gen_kwargs: dict[str, Any]
    ) -> str:
        try:
            return await apis.generate_one(lm, session, sem, context, gen_kwargs)
        except Exception as exc:
            # A dead or failing server, after the backend's own bounded retries (max_retries).
            if apis.is_connection_fault(exc):
                raise apis.fault_error(role, backend, lm, exc) from exc
            raise


LMEVAL = LmEvalBackends()
