"""Typos in stage keys: ``solver.pretraned`` or ``solver_gen.max_gen_tok`` name the bad key and
the closest valid one, instead of surfacing later as a transformers TypeError.

A key is refused when the backend cannot take it: not a parameter of a backend class without
``**kwargs``, or, for a class with ``**kwargs`` (HFLM forwards them to from_pretrained), a near
miss of a known key that is not itself known.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

from harness_ext.errors import DQError
from harness_ext.model.backends import Registry

# Generation kwargs lm-eval or transformers' generate() understand (HF's GenerationConfig).
GEN_KEYS = {
    "until", "max_gen_toks", "do_sample", "temperature", "top_p", "top_k", "min_p", "repetition_penalty",
    "num_beams", "seed", "max_new_tokens", "min_new_tokens", "length_penalty", "no_repeat_ngram_size",
    "presence_penalty", "frequency_penalty", "stop", "logprobs", "n",
}  # fmt: skip
# from_pretrained kwargs HFLM forwards through **kwargs.
FROM_PRETRAINED_KEYS = {
    "attn_implementation", "low_cpu_mem_usage", "torch_dtype", "device_map", "quantization_config", "cache_dir",
    "local_files_only", "token", "use_safetensors", "offload_folder", "max_memory", "load_in_8bit", "load_in_4bit",
}  # fmt: skip
FORWARDED = {"batch_size", "max_batch_size", "device"}


def backend_params(backend: str, registry: Registry) -> tuple[set[str], bool]:
    """(named parameters of the backend class and its bases, whether it takes **kwargs)."""
    cls = registry.model_class("stage", backend)
    names: set[str] = set()
    open_ended = True
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)} - {"self"}
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            open_ended = False
            break  # a base's own params are reached only through **kwargs
    return names, open_ended


def _near(key: str, known: set[str]) -> str | None:
    found = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return found[0] if found else None


def check_keys(role: str, prefix: str, keys: list[str], known: set[str], open_ended: bool) -> None:
    for key in keys:
        if key in known:
            continue
        near = _near(key, known)
        if near is not None or not open_ended:
            hint = f"; did you mean {prefix}.{near}?" if near else f"; valid keys: {', '.join(sorted(known))}"
            raise DQError(f"two_stage model_args: unknown key {prefix}.{key} for {role}{hint}")


def check_stage(role: str, backend: str, args: dict[str, Any], gen: dict[str, Any], registry: Registry) -> None:
    try:
        known, open_ended = backend_params(backend, registry)
    except DQError:  # the backend's package is missing: loading it says so, with the fix
        check_keys(role, f"{role}_gen", list(gen), GEN_KEYS, open_ended=True)
        return
    if open_ended and backend in ("hf", "huggingface"):
        known |= FROM_PRETRAINED_KEYS
    check_keys(role, role, list(args), known | FORWARDED, open_ended)
    check_keys(role, f"{role}_gen", list(gen), GEN_KEYS, open_ended=True)
