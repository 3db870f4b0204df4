"""One generate_until request as the two stages see it, and the chat-history marker."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness_ext.model.records import Flag, StageView
from harness_ext.model.stages import Generation

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
    flags: list[Flag] = field(default_factory=list)
    decomposition: Generation | None = None
    replayed_from: str | None = None  # decomposer=replay: the traces file it came from
    rounds: list[dict[str, Any]] = field(default_factory=list)  # dynamic mode only
    pending: str = ""  # dynamic mode: the sub-question being answered
    round_decomposer: Generation | None = None  # dynamic mode: this round's decomposer call
    decomposer_views: list[dict[str, Any]] = field(default_factory=list)  # dynamic: every call

    @property
    def question(self) -> str:
        if "question" in self.doc:
            return str(self.doc["question"])
        return chat_text(self.context)


def chat_messages(context: str) -> list[dict[str, str]] | None:
    """The chat history behind a marked context, else None."""
    if not context.startswith(CHAT_MARK):
        return None
    return json.loads(context[len(CHAT_MARK) :])


def chat_text(context: str) -> str:
    """The plain text of a context: what a model without a chat template reads."""
    messages = chat_messages(context)
    if messages is None:
        return context
    return "\n\n".join(m["content"] for m in messages if m["role"] != "system")


def mark_chat(messages: list[dict[str, str]]) -> str:
    return CHAT_MARK + json.dumps(messages, ensure_ascii=False)


def stage_view(gen: Generation) -> StageView:
    return StageView(
        prompt=gen.prompt,
        output=gen.output,
        prompt_tokens=gen.prompt_tokens,
        completion_tokens=gen.completion_tokens,
        seconds=round(gen.seconds, 4),
        cached=gen.cached,
        token_source=gen.token_source,
        truncated=gen.truncated,
    )


def with_exemplars(item: Item, prompt: str) -> str:
    """``prompt`` after the few-shot exemplars lm-eval put before the doc (``--num_fewshot``).

    lm-eval's context is the exemplars followed by the task's single-stage prompt for the doc
    (or, as chat, exemplar turns followed by that prompt as the last user turn); the solver's
    own prompt takes the doc's place. Without exemplars the prompt comes back unchanged.
    """
    messages = chat_messages(item.context)
    if messages is not None:
        if len(messages) <= 1 or all(m["role"] == "system" for m in messages[:-1]):
            return prompt
        return mark_chat([*messages[:-1], {"role": "user", "content": prompt}])
    if "dq_task" not in item.doc:
        return prompt
    from dq_tasks.hooks import doc_to_text

    own = doc_to_text(item.doc)
    cut = item.context.rfind(own)
    return item.context[:cut] + prompt if cut > 0 else prompt
