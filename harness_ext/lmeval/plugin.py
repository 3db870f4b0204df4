"""Registration with lm-eval, run when lm-eval's own modules load (see dq_harness_hook.py).

lm-eval 0.4.x has no plugin loader, so the post-import hook calls :func:`on_registry` right
after ``lm_eval.api.registry`` is defined, and :func:`on_tracker` right after
``lm_eval.loggers.evaluation_tracker`` defines the tracker the CLI will use. Both only register
names and swap in a subclass: nothing heavy is imported until ``two_stage`` is asked for.
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

MODEL_NAME = "two_stage"
MODEL_TARGET = "harness_ext.lmeval.two_stage:TwoStageLM"


def register_model() -> None:
    """Make ``--model two_stage`` resolvable (lazily: the class loads when first used).

    lm-eval fills its registry with the built-in models only when it finds it empty, so they
    are registered first (lm_eval.models holds lazy placeholders: importing it is cheap).
    """
    import lm_eval.models  # noqa: F401
    from lm_eval.api.registry import model_registry

    if MODEL_NAME not in model_registry:
        model_registry.register(MODEL_NAME, target=MODEL_TARGET)


def on_registry(module: ModuleType) -> None:
    register_model()
    install_error_hook()


def on_tracker(module: ModuleType) -> None:
    """The CLI saves through ``lm_eval.loggers.EvaluationTracker``: make that our subclass, which
    is lm-eval's tracker plus traces for two_stage runs (and identical for any other model)."""
    loading = sys.modules.get("harness_ext.lmeval.tracker")
    if loading is not None and not hasattr(loading, "install"):
        return  # tracker.py imported lm-eval's tracker first: it installs itself once defined
    from harness_ext.lmeval.tracker import install

    install()


def install_error_hook() -> None:
    """A DQError escaping `lm_eval` (bad two_stage model_args, ...) prints one `dq: error:` line
    and exits 2, as `dq eval` does, instead of a traceback."""
    previous = sys.excepthook
    if getattr(previous, "dq_hook", False):
        return

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        from harness_ext.errors import DQError

        if isinstance(exc, DQError):
            print(f"dq: error: {exc}", file=sys.stderr, flush=True)
            sys.stdout.flush()
            import os

            os._exit(2)
        previous(kind, exc, tb)

    hook.dq_hook = True  # type: ignore[attr-defined]
    sys.excepthook = hook
