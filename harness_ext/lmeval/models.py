"""lm-eval's model registry, as the stages use it."""

from __future__ import annotations

from lm_eval.api.model import LM

from harness_ext.errors import DQError


def model_class(role: str, backend: str) -> type[LM]:
    """The registered class of an lm-eval backend, or one clear error."""
    from lm_eval.api.registry import get_model

    try:
        return get_model(backend)
    except ModuleNotFoundError as exc:  # e.g. vllm on a machine without it
        extra = {"vllm": " (`pip install 'lm-eval[vllm]'`, GPU machines)"}.get(backend, "")
        raise DQError(f"{role}={backend} needs the {exc.name!r} package, which is not installed{extra}") from None


def known_backends() -> list[str]:
    """Every backend name lm-eval can load (its lazy registry included)."""
    import lm_eval.models  # noqa: F401  fills the registry
    from lm_eval.api.registry import model_registry

    return sorted(model_registry.keys())
