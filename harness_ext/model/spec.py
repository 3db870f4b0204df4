"""``--model_args`` of the two_stage model -> validated stage specs.

Flat keys (``decomposer=hf,decomposer.pretrained=X``) and the JSON form (flat, or nested as
``{"decomposer": {"backend": "hf", "pretrained": "X"}}``) give the same config.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from harness_ext.errors import DQError
from harness_ext.model.keys import check_stage

Role = Literal["decomposer", "solver"]
Virtual = Literal["none", "oracle"]  # decomposer backends that need no model
REPLAY = "replay"  # the decomposer backend that reads recorded sub-questions (decomposer.path=)
Mode = Literal["static", "dynamic"]
Baseline = Literal["single", "cot"]
ROLES: tuple[Role, ...] = get_args(Role)
VIRTUAL: tuple[Virtual, ...] = get_args(Virtual)
MODES: tuple[Mode, ...] = get_args(Mode)
BASELINES: tuple[Baseline, ...] = get_args(Baseline)
# Options of the wrapper itself; anything else must be a role or a role-prefixed key.
OPTIONS = {"prompts", "max_subquestions", "mode", "baseline", "cache"}
# lm-eval passes these to every model; they go on to the inner stages.
FORWARDED = {"batch_size", "max_batch_size", "device"}
DEFAULT_DECOMPOSER_GEN = {"until": ["\n\n\n"], "max_gen_toks": 160, "do_sample": False}


WEIGHT_FILES = ("*.safetensors", "*.bin", "*.gguf", "config.json")


def weights_fingerprint(pretrained: Any) -> str | None:
    """Names, sizes and modification times of a local model directory's weight files (cheap:
    no file is read); None when ``pretrained`` is not a local directory (a hub or packaged name)."""
    if not isinstance(pretrained, str) or not pretrained or not Path(pretrained).is_dir():
        return None
    files = sorted(f for pattern in WEIGHT_FILES for f in Path(pretrained).glob(pattern) if f.is_file())
    stamp = [(f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    return hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:16]


@dataclass
class StageSpec:
    role: str
    backend: str
    args: dict[str, Any] = field(default_factory=dict)
    gen: dict[str, Any] = field(default_factory=dict)

    @property
    def is_model(self) -> bool:
        return self.backend not in VIRTUAL and self.backend != REPLAY

    def model_key(self) -> str:
        """Identity of the loaded model: equal keys share one instance."""
        return json.dumps([self.backend, self.args], sort_keys=True, default=str)

    def output_key(self) -> str:
        """Identity of the outputs, for the stage cache: batch size and device do not change
        what greedy decoding means to produce, so they do not invalidate cached text. A local
        model directory adds its weights' fingerprint: a student retrained into the same
        folder must not be answered from its predecessor's cached text."""
        args = {k: v for k, v in self.args.items() if k not in FORWARDED}
        weights = weights_fingerprint(args.get("pretrained"))
        if weights:
            args["weights_fingerprint"] = weights
        return json.dumps([self.backend, args], sort_keys=True, default=str)

    @property
    def name(self) -> str:
        """Short readable name: basename of the model path, else the backend. A replay names
        the decomposer it replays (``replay-<name>``), so its label and run folder differ from
        the recording's and from a replay of another decomposer."""
        if self.backend == REPLAY:
            return f"{REPLAY}-{self.args['recorded']}" if self.args.get("recorded") else REPLAY
        for key in ("pretrained", "model", "base_url"):
            if self.args.get(key):
                return Path(str(self.args[key]).rstrip("/")).name
        return self.backend


@dataclass
class TwoStageConfig:
    decomposer: StageSpec
    solver: StageSpec
    prompts: str = "default"
    max_subquestions: int | None = None  # None: the doc's own cap, else 3 (the paper's)
    mode: Mode = "static"
    baseline: Baseline = "single"
    cache: str | None = None

    @property
    def label(self) -> str:
        return f"{self.decomposer.name}/{self.solver.name}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


def _bad(msg: str) -> DQError:
    return DQError(f"two_stage model_args: {msg}")


def _flatten(kwargs: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in ROLES and isinstance(value, dict):
            inner = dict(value)
            backend = inner.pop("backend", None) or inner.pop("model", None)
            if backend is None:
                raise _bad(f'nested {key} args need a \'backend\' key, e.g. {{"backend": "hf"}}')
            flat[key] = backend
            flat.update({f"{key}.{k}": v for k, v in inner.items()})
        elif key in ("decomposer_gen", "solver_gen") and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def _check_backend(role: str, backend: Any) -> str:
    if not isinstance(backend, str) or not backend:
        raise _bad(f"{role}= needs a backend name, got {backend!r}")
    if role == "decomposer" and (backend in VIRTUAL or backend == REPLAY):
        return backend
    from harness_ext.lmeval.models import known_backends

    known = known_backends()
    if backend not in known:
        hint = " ('none', 'oracle' and 'replay' are decomposers only)" if backend in (*VIRTUAL, REPLAY) else ""
        raise _bad(
            f"unknown {role} backend {backend!r}{hint}; use an lm-eval model name such as "
            f"hf, vllm, local-completions (all: {', '.join(known)})"
        )
    return backend


def _split_keys(flat: dict[str, Any]) -> tuple[dict[str, dict], dict[str, dict], dict[str, Any]]:
    args: dict[str, dict] = {r: {} for r in ROLES}
    gens: dict[str, dict] = {r: {} for r in ROLES}
    options: dict[str, Any] = {}
    for key, value in flat.items():
        if key in ROLES:
            continue
        head, dot, sub = key.partition(".")
        if dot and head in ROLES and sub:
            args[head][sub] = value
        elif dot and head in ("decomposer_gen", "solver_gen") and sub:
            gens[head.removesuffix("_gen")][sub] = value
        elif key in OPTIONS:
            options[key] = value
        elif not dot and key in FORWARDED:
            options.setdefault("_forward", {})[key] = value
        else:
            near = difflib.get_close_matches(key, sorted(OPTIONS | FORWARDED), n=1, cutoff=0.75)
            hint = f"did you mean {near[0]}? " if near else ""
            raise _bad(
                f"malformed key {key!r}: {hint}use decomposer.<arg>, solver.<arg>, decomposer_gen.<kwarg>, "
                f"solver_gen.<kwarg> or one of {sorted(OPTIONS)}"
            )
    return args, gens, options


def parse_model_args(kwargs: dict[str, Any]) -> TwoStageConfig:
    flat = _flatten({k: v for k, v in kwargs.items() if v is not None})
    if "solver" not in flat:
        raise _bad("missing solver=<backend>, e.g. solver=hf,solver.pretrained=smollm2-135m")
    args, gens, options = _split_keys(flat)
    forward = options.pop("_forward", {})
    specs = {}
    for role in ROLES:
        backend = _check_backend(role, flat.get(role, "none"))
        if backend in VIRTUAL and args[role]:
            raise _bad(f"decomposer={backend} takes no decomposer.* args (got {sorted(args[role])})")
        stage_args = {**forward, **args[role]} if backend not in VIRTUAL else {}
        if backend == REPLAY:
            stage_args = _replay_args(args[role])
            gens[role] = {}  # generates nothing: decomposer_gen.* (as none/oracle take it) has no effect to record
        elif backend not in VIRTUAL:
            check_stage(role, backend, args[role], gens[role])
        specs[role] = StageSpec(role, backend, stage_args, gens[role])
    if specs["decomposer"].backend != REPLAY:  # a replay generates nothing: no gen kwargs to record
        specs["decomposer"].gen = {**DEFAULT_DECOMPOSER_GEN, **specs["decomposer"].gen}
    config = TwoStageConfig(specs["decomposer"], specs["solver"], **options)
    _check_options(config)
    return config


def _replay_args(args: dict[str, Any]) -> dict[str, Any]:
    """decomposer=replay takes one arg, the recorded run: it must hold traces. The spec's args
    add what the results file needs to name the recording exactly (rundir.describe_recording:
    resolved path, each task's traces file and sha256, the recorded decomposer)."""
    extra = sorted(set(args) - {"path"})
    if extra:
        raise _bad(f"decomposer=replay takes only decomposer.path (got {extra})")
    if not args.get("path"):
        raise _bad("decomposer=replay needs decomposer.path=<run folder, study cell folder or traces_*.jsonl>")
    from harness_ext.rundir import describe_recording

    try:
        return {"path": str(args["path"]), **describe_recording(str(args["path"]))}
    except DQError as exc:
        raise _bad(f"decomposer.path: {exc}") from None


def _check_options(config: TwoStageConfig) -> None:
    if config.mode not in MODES:
        raise _bad(f"mode={config.mode!r}; use one of {MODES}")
    if config.mode == "dynamic" and config.decomposer.backend == REPLAY:
        raise _bad("decomposer=replay replays a static run's sub-questions; use mode=static")
    if config.baseline not in BASELINES:
        raise _bad(f"baseline={config.baseline!r}; use one of {BASELINES}")
    if config.max_subquestions is not None:
        if not isinstance(config.max_subquestions, int) or config.max_subquestions < 1:
            raise _bad(f"max_subquestions must be a positive integer, got {config.max_subquestions!r}")
    from harness_ext.model.prompts import PromptSetError, get_prompt_set

    try:
        get_prompt_set(str(config.prompts))
    except PromptSetError as exc:
        raise _bad(str(exc)) from None
