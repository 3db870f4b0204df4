"""The study file of `dq study`: its keys, validated into a :class:`Study` before any compute.

A study file is YAML::

    name: my_study                 # default: the file's stem
    tasks: [dq_paper, dq_synth_d2] # dq task or group names
    models:                        # name -> an lm-eval backend and its args
      smol: {backend: hf, args: {pretrained: smollm2-135m, dtype: float32}, parameters: 1.35e+8}
      taught: {backend: replay, path: runs/teacher}   # decompositions recorded by another run
      big: {backend: vllm, args: {pretrained: PATH, tensor_parallel_size: 2},
            resources: {num_gpus: 2, num_cpus: 4}}   # what its stage needs (--executor ray)
    decomposers: [none, oracle, smol]   # model names, none (single stage), oracle (gold)
    solvers: [smol]
    comparisons: [single_stage, decomposers, solvers]   # which pairs form the Holm family,
                                   # plus explicit cells: "smol/smol vs oracle/smol" (decomposer/solver)
    limit: 50                      # docs per task (lm-eval --limit)
    seed: 1234
    apply_chat_template: true
    batch_size: 16                 # and device: forwarded to every stage
    decomposer_gen: {max_gen_toks: 128}   # solver_gen too
    prompts: default               # mode, max_subquestions, baseline: two_stage options
    prices: {smol: {input: 0.0001, output: 0.0002}}   # $ per 1k tokens, for cost columns
    alpha: 0.05                    # iterations, metadata, torch_threads
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from harness_ext.errors import DQError
from harness_ext.lmeval.tasks import expand_tasks, task_manager
from harness_ext.model.spec import REPLAY, VIRTUAL
from harness_ext.study import cost as costs

TOP_KEYS = {
    "name",
    "description",
    "tasks",
    "limit",
    "seed",
    "prompts",
    "models",
    "decomposers",
    "solvers",
    "apply_chat_template",
    "batch_size",
    "device",
    "decomposer_gen",
    "solver_gen",
    "mode",
    "max_subquestions",
    "baseline",
    "prices",
    "alpha",
    "iterations",
    "metadata",
    "torch_threads",
    "comparisons",
}
MODEL_KEYS = {"backend", "args", "parameters", "path", "resources"}
RESOURCE_KEYS = ("num_cpus", "num_gpus")  # Ray's task options; a stage without them takes 1 CPU
ROLE_KEYS = ("decomposers", "solvers")


@dataclass
class ModelDef:
    name: str
    backend: str
    args: dict[str, Any] = field(default_factory=dict)
    parameters: int | None = None  # for FLOPs of API backends
    resources: dict[str, float] = field(default_factory=dict)  # num_cpus / num_gpus (Ray executor)


ComparisonKind = Literal["single_stage", "decomposers", "solvers"]
# single_stage: each cell vs none/<same solver>; decomposers: every pair of decomposers under the
# same solver; solvers: every pair of solvers under the same decomposer.
COMPARISON_KINDS: tuple[ComparisonKind, ...] = ("single_stage", "decomposers", "solvers")


Cell = tuple[str, str]  # (decomposer, solver) names
CellPair = tuple[Cell, Cell]


@dataclass
class Study:
    path: str
    name: str
    tasks: list[str]
    models: dict[str, ModelDef]
    decomposers: list[str]
    solvers: list[str]
    limit: int | float | None = None
    seed: int = 1234
    options: dict[str, Any] = field(default_factory=dict)  # prompts, mode, max_subquestions, baseline
    forward: dict[str, Any] = field(default_factory=dict)  # batch_size, device
    gen: dict[str, dict[str, Any]] = field(default_factory=dict)  # decomposer_gen, solver_gen
    apply_chat_template: bool = False
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    alpha: float = 0.05
    iterations: int = 10_000
    metadata: dict[str, Any] | None = None
    torch_threads: int | None = None  # 1 is far faster than 2 on oversubscribed shared cores
    comparisons: tuple[ComparisonKind, ...] = COMPARISON_KINDS  # which pairs form the Holm family
    pairs: tuple[CellPair, ...] = ()  # explicit "d/s vs d/s" comparisons, beside the kinds
    sha256: str = ""  # of the study file's bytes: shards of one study carry the same


def bad_study(msg: str) -> DQError:
    return DQError(f"study file: {msg}")


def _names(raw: Any, key: str) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x for x in raw):
        raise bad_study(f"{key}: expected a non-empty list of names, got {raw!r}")
    if len(set(raw)) != len(raw):
        raise bad_study(f"{key}: duplicate names in {raw}")
    return list(raw)


def _models(raw: Any) -> dict[str, ModelDef]:
    if not isinstance(raw, dict) or not raw:
        raise bad_study("models: expected a map of name -> {backend: ..., args: {...}}")
    out = {}
    for name, entry in raw.items():
        if name in VIRTUAL:
            raise bad_study(f"models: {name!r} is a built-in decomposer; pick another model name")
        if not isinstance(entry, dict) or "backend" not in entry:
            raise bad_study(f"models.{name}: expected {{backend: hf, args: {{pretrained: ...}}}}, got {entry!r}")
        extra = set(entry) - MODEL_KEYS
        if extra:
            raise bad_study(f"models.{name}: unknown key(s) {sorted(extra)}; use {sorted(MODEL_KEYS)}")
        args = entry.get("args") or {}
        if not isinstance(args, dict):
            raise bad_study(f"models.{name}.args: expected a map, got {args!r}")
        if (entry["backend"] == REPLAY) != ("path" in entry) or (entry["backend"] == REPLAY and args):
            raise bad_study(
                f"models.{name}: a recorded decomposition is {{backend: replay, path: RUN_DIR}} (no args); "
                "path belongs to backend replay only"
            )
        if entry["backend"] == REPLAY:
            args = {"path": entry["path"]}  # the two_stage model's decomposer.path
        if entry["backend"] in ("hf", "huggingface") and "pretrained" not in args:
            raise bad_study(f"models.{name}: backend hf needs args.pretrained (a model dir or packaged name)")
        resources = _resources(name, entry.get("resources"))
        out[name] = ModelDef(str(name), entry["backend"], dict(args), entry.get("parameters"), resources)
    return out


def _resources(name: str, raw: Any) -> dict[str, float]:
    if raw is None:
        return {}
    usage = "a map such as {num_gpus: 1, num_cpus: 4}"
    if not isinstance(raw, dict) or set(raw) - set(RESOURCE_KEYS):
        raise bad_study(f"models.{name}.resources: expected {usage} (keys {', '.join(RESOURCE_KEYS)}), got {raw!r}")
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise bad_study(f"models.{name}.resources.{key}: expected a non-negative number, got {value!r}")
    return {k: float(v) for k, v in raw.items()}


def load_study(path: str | Path, tm=None) -> Study:
    p = Path(path)
    if not p.is_file():
        raise DQError(f"study file {p} not found")
    data = p.read_bytes()
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except yaml.YAMLError as exc:
        raise bad_study(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise bad_study(f"{p}: expected a YAML map at the top level")
    extra = set(raw) - TOP_KEYS
    if extra:
        key = sorted(extra)[0]
        raise bad_study(
            f"unknown role or key {key!r}: roles are {', '.join(ROLE_KEYS)} (generation kwargs: "
            f"decomposer_gen, solver_gen); other keys: {', '.join(sorted(TOP_KEYS - set(ROLE_KEYS)))}"
        )
    for key in ("tasks", "models", "decomposers", "solvers"):
        if key not in raw:
            raise bad_study(f"missing {key!r}")
    models = _models(raw["models"])
    decomposers, solvers = _names(raw["decomposers"], "decomposers"), _names(raw["solvers"], "solvers")
    for role, names, allowed in (
        ("decomposers", decomposers, set(models) | set(VIRTUAL)),
        ("solvers", solvers, {n for n, m in models.items() if m.backend != REPLAY}),
    ):
        for n in names:
            if n not in allowed:
                replay = n in models and models[n].backend == REPLAY
                hint = " ('none', 'oracle' and replay models are decomposers only)" if n in VIRTUAL or replay else ""
                raise bad_study(f"{role}: unknown model {n!r}{hint}; models are {sorted(models)}")
    gen = {}
    for role in ("decomposer", "solver"):
        g = raw.get(f"{role}_gen") or {}
        if not isinstance(g, dict):
            raise bad_study(f"{role}_gen: expected a map of generation kwargs, got {g!r}")
        gen[role] = g
    limit = raw.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0):
        raise bad_study(f"limit: expected a positive number, got {limit!r}")
    seed = raw.get("seed", 1234)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise bad_study(f"seed: expected an integer, got {seed!r}")
    tasks = expand_tasks(_names(raw["tasks"], "tasks"), tm or task_manager(), where="study file: tasks")
    study = Study(
        path=str(p),
        name=str(raw.get("name") or p.stem),
        tasks=tasks,
        models=models,
        decomposers=decomposers,
        solvers=solvers,
        limit=limit,
        seed=seed,
        options={k: raw[k] for k in ("prompts", "mode", "max_subquestions", "baseline") if raw.get(k) is not None},
        forward={k: raw[k] for k in ("batch_size", "device") if raw.get(k) is not None},
        gen=gen,
        apply_chat_template=bool(raw.get("apply_chat_template", False)),
        prices=costs.check_prices(raw.get("prices"), set(models)),
        alpha=float(raw.get("alpha", 0.05)),
        iterations=int(raw.get("iterations", 10_000)),
        metadata=raw.get("metadata"),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    threads = raw.get("torch_threads")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise bad_study(f"torch_threads: expected a positive integer, got {threads!r}")
    study.torch_threads = threads
    study.comparisons, study.pairs = _comparisons(raw.get("comparisons"), decomposers, solvers)
    if not 0 < study.alpha < 1:
        raise bad_study(f"alpha: expected a number between 0 and 1, got {study.alpha}")
    return study


def _comparisons(
    raw: Any, decomposers: list[str], solvers: list[str]
) -> tuple[tuple[ComparisonKind, ...], tuple[CellPair, ...]]:
    if raw is None:
        return COMPARISON_KINDS, ()
    usage = f"a list drawn from {list(COMPARISON_KINDS)} and 'decomposer/solver vs decomposer/solver' pairs"
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise bad_study(f"comparisons: expected {usage}, got {raw!r}")
    pairs = tuple(_pair(k, decomposers, solvers, usage) for k in raw if k not in COMPARISON_KINDS)
    return tuple(k for k in COMPARISON_KINDS if k in raw), pairs


def _pair(text: str, decomposers: list[str], solvers: list[str], usage: str) -> CellPair:
    sides = [side.strip().split("/") for side in text.split(" vs ")]
    if len(sides) != 2 or any(len(side) != 2 for side in sides):
        raise bad_study(f"comparisons: {text!r} is neither a kind nor a pair; expected {usage}")
    cells = [(d.strip(), s.strip()) for d, s in sides]
    for d, s in cells:
        if d not in decomposers or s not in solvers:
            raise bad_study(
                f"comparisons: {text!r}: {d}/{s} is not a cell of the grid "
                f"(decomposers {decomposers}, solvers {solvers})"
            )
    if cells[0] == cells[1]:
        raise bad_study(f"comparisons: {text!r} compares a cell with itself")
    return cells[0], cells[1]


STUDY_FILE_HELP = "the study file:\n" + "\n".join(
    line[4:] for line in (__doc__ or "").split("::", 1)[1].splitlines() if line.strip()
)
