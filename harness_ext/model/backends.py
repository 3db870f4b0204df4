"""What the core needs from the evaluation framework it runs under, as two small protocols.

The core (this package) never imports lm-eval: the adapter (harness_ext/lmeval/) implements
these protocols over lm-eval's registry and model classes and passes them in. ``Registry``
checks model_args (backend names, the keys a backend class takes); ``Backends`` calls one
loaded inner model (a batch, or one request for the streaming pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Chat:
    """A chat history a stage templates with its own model. ``generation_prompt`` False: the
    last message is an assistant turn to continue (a task's ``gen_prefix``), as lm-eval asks
    with ``add_generation_prompt=False``."""

    messages: list[dict[str, str]]
    generation_prompt: bool = True

    @property
    def text(self) -> str:
        """The history as a model without a chat template reads it."""
        return "\n\n".join(m["content"] for m in self.messages if m["role"] != "system")


@dataclass
class Request:
    """What a stage needs to generate for one doc."""

    prompt: str
    gen_kwargs: dict[str, Any]
    template_id: str = ""
    task: str | None = None
    doc_id: int | None = None
    doc: dict = field(default_factory=dict)
    chat: Chat | None = None  # a chat history the stage templates itself (prompt: its text)


def prompt_key(context: Any) -> str:
    """A prompt as a stage holds it: str, or a chat prompt object carrying ``.prompt`` (lm-eval's
    JsonChatStr: chat messages as JSON)."""
    return getattr(context, "prompt", context) if not isinstance(context, str) else context


class Registry(Protocol):
    """The framework's model registry, as model_args validation needs it."""

    def known_backends(self) -> list[str]: ...
    def model_class(self, role: str, backend: str) -> type: ...


class Backends(Protocol):
    """How a stage calls its loaded inner model ``lm`` (any of the framework's model classes)."""

    def is_api(self, lm: Any) -> bool:
        """A served backend (an OpenAI-style API): the server batches, retries and templates."""
        ...

    def is_chat_api(self, lm: Any) -> bool:
        """A chat-completions endpoint: takes messages and templates them server-side."""
        ...

    def chat_prompt(self, messages: list[dict[str, str]]) -> Any:
        """Messages as a chat endpoint takes them (``prompt_key`` gives them back as text)."""
        ...

    def generate(self, role: str, backend: str, lm: Any, requests: list[Request], prompts: list) -> list[str]:
        """One batch of requests (prompts as sent); a server's fault raises one clear DQError
        naming the stage (``role``=``backend``)."""
        ...

    def usage_for(self, lm: Any, prompt: Any) -> dict[str, int] | None:
        """The server's token counts for ``prompt``, when it sent them."""
        ...

    def reset_usage(self, lm: Any) -> None:
        """Forget the usage recorded so far (after a batch has been read)."""
        ...

    def concurrency(self, lm: Any) -> int:
        """A served backend's bound on requests in flight (at least 1)."""
        ...

    def open_session(self, lm: Any) -> Any:
        """An async HTTP session for ``generate_one`` (closed by the caller)."""
        ...

    async def generate_one(
        self, role: str, backend: str, lm: Any, session: Any, sem: Any, context: Any, gen_kwargs: dict[str, Any]
    ) -> str:
        """One request to a served backend; a server's fault raises one clear DQError."""
        ...
