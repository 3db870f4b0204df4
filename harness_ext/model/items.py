"""One generate_until request as the two stages see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness_ext.model.stages import Generation
from harness_ext.records import Flag, StageView


@dataclass
class Item:
    """One generate_until request, as the two stages see it."""

    task: str | None
    doc_id: int | None
    doc: dict
    context: str  # lm-eval's rendered prompt; under chat templating, the history's plain text
    gen_kwargs: dict[str, Any]
    subquestions: list[str] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    decomposition: Generation | None = None
    replayed_from: str | None = None  # decomposer=replay: the traces file it came from
    rounds: list[dict[str, Any]] = field(default_factory=list)  # dynamic mode only
    pending: str = ""  # dynamic mode: the sub-question being answered
    round_decomposer: Generation | None = None  # dynamic mode: this round's decomposer call
    decomposer_views: list[dict[str, Any]] = field(default_factory=list)  # dynamic: every call
    # The chat history lm-eval built (--apply_chat_template): each stage templates it itself.
    messages: list[dict[str, str]] | None = None

    @property
    def question(self) -> str:
        if "question" in self.doc:
            return str(self.doc["question"])
        return self.context


def plain_text(messages: list[dict[str, str]]) -> str:
    """A chat history as a model without a chat template reads it."""
    return "\n\n".join(m["content"] for m in messages if m["role"] != "system")


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


def with_exemplars(item: Item, prompt: str) -> tuple[str, list[dict[str, str]] | None]:
    """``prompt`` after the few-shot exemplars lm-eval put before the doc (``--num_fewshot``):
    the text, and the chat history when the item is chat (None: template the text alone).

    lm-eval's context is the exemplars followed by the task's single-stage prompt for the doc
    (or, as chat, exemplar turns followed by that prompt as the last user turn); the solver's
    own prompt takes the doc's place. Without exemplars the prompt comes back unchanged.
    """
    messages = item.messages
    if messages is not None:
        if len(messages) <= 1 or all(m["role"] == "system" for m in messages[:-1]):
            return prompt, None
        turns = [*messages[:-1], {"role": "user", "content": prompt}]
        return plain_text(turns), turns
    if "dq_task" not in item.doc:
        return prompt, None
    from dq_tasks.hooks import doc_to_text

    own = doc_to_text(item.doc)
    cut = item.context.rfind(own)
    return (item.context[:cut] + prompt if cut > 0 else prompt), None
