"""One generate_until request as the two stages see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness_ext.model.backends import Chat
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
    chat: Chat | None = None  # the history lm-eval built (--apply_chat_template); context: its text

    @property
    def question(self) -> str:
        if "question" in self.doc:
            return str(self.doc["question"])
        return self.context


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


def with_exemplars(item: Item, prompt: str) -> tuple[str, Chat | None]:
    """``prompt`` after the few-shot exemplars lm-eval put before the doc (``--num_fewshot``):
    the text, and the chat history when the item is chat (None: template the text alone).

    lm-eval's context is the exemplars followed by the task's single-stage prompt for the doc
    (or, as chat, exemplar turns followed by that prompt as the last user turn, then the task's
    ``gen_prefix`` as an assistant turn to continue, if it has one); the solver's own prompt
    takes the doc's place, the prefix stays. Without exemplars or prefix the prompt comes back
    unchanged.
    """
    chat = item.chat
    if chat is not None:
        turns = chat.messages if chat.generation_prompt else chat.messages[:-1]
        prefix = [] if chat.generation_prompt else chat.messages[-1:]
        lead = turns[:-1]  # system and exemplar turns before the doc's own
        if not prefix and all(m["role"] == "system" for m in lead):
            return prompt, None
        new = Chat([*lead, {"role": "user", "content": prompt}, *prefix], chat.generation_prompt)
        return new.text, new
    if "dq_task" not in item.doc:
        return prompt, None
    from dq_tasks.hooks import doc_to_text

    own = doc_to_text(item.doc)
    cut = item.context.rfind(own)
    return (item.context[:cut] + prompt if cut > 0 else prompt), None
