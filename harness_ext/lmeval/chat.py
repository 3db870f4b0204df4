"""lm-eval's chat histories as two_stage receives them, and its Instances as the core's Items.

Under ``--apply_chat_template`` lm-eval asks the model to template the history and passes the
string it gets back as the request's context. Each stage has its own model and template, so
two_stage returns the history *marked* instead and turns it back into a
:class:`~harness_ext.model.backends.Chat` here, where an Instance becomes an
:class:`~harness_ext.model.items.Item`: the core sees typed messages, never the marker.
"""

from __future__ import annotations

import json
from typing import Any

from harness_ext.model.backends import Chat
from harness_ext.model.items import Item

CHAT_MARK = "\x00dq-chat:"  # prefix of a chat history that each stage templates itself


def mark_chat(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
    """The history as a context string; lm-eval's ``add_generation_prompt=False`` (a task's
    ``gen_prefix`` as the last assistant turn, to be continued) travels with it."""
    payload: Any = messages if add_generation_prompt else {"messages": messages, "add_generation_prompt": False}
    return CHAT_MARK + json.dumps(payload, ensure_ascii=False)


def unmark_chat(context: Any) -> Chat | None:
    """The chat history behind a marked context, else None."""
    if not isinstance(context, str) or not context.startswith(CHAT_MARK):
        return None
    payload = json.loads(context[len(CHAT_MARK) :])
    if isinstance(payload, dict):
        return Chat(payload["messages"], bool(payload.get("add_generation_prompt", True)))
    return Chat(payload)


def item_of(instance: Any) -> Item:
    """One lm-eval generate_until Instance as the two stages see it."""
    context, gen_kwargs = instance.args[0], dict(instance.args[1])
    chat = unmark_chat(context)
    text = chat.text if chat is not None else context
    return Item(instance.task_name, instance.doc_id, instance.doc or {}, text, gen_kwargs, chat=chat)
