"""Inner models loaded from lm-eval's registry, by stage spec, and shared between instances."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lm_eval.api.model import LM

from harness_ext.errors import DQError
from harness_ext.lmeval import apis
from harness_ext.lmeval import models as lmeval_models
from harness_ext.model.runtime import apply_threads
from harness_ext.model.spec import StageSpec
from harness_ext.serve.packaged import is_packaged, resolve_pretrained


class ModelPool:
    """Loaded inner models by spec: equal decomposer and solver specs share one instance, and a
    study's cells reuse the models they share. The owner evicts what it no longer needs."""

    def __init__(self) -> None:
        self._models: dict[str, LM] = {}

    def get(self, spec: StageSpec) -> LM:
        key = spec.model_key()
        if key not in self._models:
            self._models[key] = load_inner(spec)
        return self._models[key]

    def keys(self) -> set[str]:
        return set(self._models)

    def evict(self, keep: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        """Drop every model whose key is not in ``keep`` (and free its memory)."""
        for key in [k for k in self._models if k not in keep]:
            del self._models[key]
        import gc

        gc.collect()

    def close(self) -> None:
        self.evict()


def load_inner(spec: StageSpec) -> LM:
    """Build the inner lm-eval model of one stage (packaged names resolved, CPU when no GPU)."""
    args = _backend_args(spec)
    registered = lmeval_models.model_class(spec.role, spec.backend)
    cls = apis.with_usage(registered)
    if cls is not registered:  # an OpenAI-style API backend
        apis.check_api_deps(spec.role, spec.backend)
        apis.probe(spec.role, spec.backend, args.get("base_url"))
        # A packaged model served by `dq serve` is named by its alias; its tokenizer is the
        # converted HF directory (for tokenizer counts and tokenized requests).
        if "tokenizer" not in args and is_packaged(args.get("model")):
            args["tokenizer"] = args["model"]
        if is_packaged(args.get("tokenizer")):
            args["tokenizer"] = resolve_pretrained(args["tokenizer"])
    return cls.create_from_arg_obj(args, {})  # type: ignore[attr-defined]


def _backend_args(spec: StageSpec) -> dict[str, Any]:
    args = dict(spec.args)
    if "pretrained" in args:
        args["pretrained"] = resolve_pretrained(args["pretrained"])
    if spec.backend in ("hf", "huggingface") and "pretrained" not in args:
        raise DQError(f"{spec.role}=hf needs {spec.role}.pretrained=<model dir or packaged name>")
    if spec.backend in ("hf", "huggingface") and _missing_local_path(args["pretrained"]):
        raise DQError(
            f"{spec.role}.pretrained={args['pretrained']}: no such model directory "
            "(a path, not a hub id 'namespace/name'); build it first or fix the path"
        )
    if spec.backend in ("hf", "huggingface") and "device" not in args:
        import torch  # HFLM defaults to cuda, which fails on CPU-only machines

        args["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.backend in ("hf", "huggingface") and str(args.get("device", "")).startswith("cpu"):
        apply_threads()
    return args


def _missing_local_path(value: object) -> bool:
    """A path (absolute, ./ ../ ~, or more than one '/': hub ids have at most one) that does not
    exist: transformers would take it for a hub id and fail with a message about repo ids."""
    if not isinstance(value, (str, Path)):
        return False
    text = str(value)
    looks_local = text.startswith(("/", "./", "../", "~")) or text.count("/") > 1
    return looks_local and not Path(text).expanduser().exists()
