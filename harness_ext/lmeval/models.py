"""lm-eval's model registry, as the core uses it (its ``Registry``, model/backends.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lm_eval.api.model import LM

from harness_ext.errors import DQError
from harness_ext.model import spec


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


@dataclass(frozen=True)
class LmEvalRegistry:
    """The core's ``Registry`` over lm-eval's."""

    def known_backends(self) -> list[str]:
        return known_backends()

    def model_class(self, role: str, backend: str) -> type:
        return model_class(role, backend)


REGISTRY = LmEvalRegistry()


def parse_model_args(kwargs: dict[str, Any]) -> spec.TwoStageConfig:
    """two_stage's ``--model_args`` -> its validated config, backends checked against lm-eval's."""
    return spec.parse_model_args(kwargs, REGISTRY)
