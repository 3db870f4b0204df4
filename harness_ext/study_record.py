"""What a study records (study.json), typed: :class:`StudyResult` of :class:`CellResult` with
:class:`CellCost` per stage. `dq study` fills it, its reports and `dq view` read it; the JSON
form is only at the file's edge (``to_json`` / ``from_json`` keep study.json's key order, so a
file read and written back is byte-identical).

Below study/ and view/ (like rundir.py) so both read one definition without an import circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from harness_ext.errors import DQError
from harness_ext.io import write_json_atomic
from harness_ext.rundir import STAGES

Status = Literal["pending", "ok", "failed", "skipped"]
COUNTS = ("prompt_tokens", "completion_tokens", "generated", "cache_hits", "calls", "seconds")


@dataclass(frozen=True)
class StageCost:
    """One stage of a cell. *This invocation*: generated, cache_hits, calls, seconds; *nominal*
    (what producing the cell costs from scratch): prompt/completion tokens, flops, usd
    (study/cost.py says how each is counted). None: unknown."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    generated: int = 0
    cache_hits: int = 0
    calls: int = 0
    seconds: float = 0.0
    parameters: int | None = None
    flops: int | None = None
    usd: float | None = None
    model: str | None = None  # the study's model name; None for none/oracle
    backend: str | None = None  # set for none, oracle and replay stages
    replayed: int | None = None  # docs whose decomposition came from the recording

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_json(self) -> dict[str, Any]:
        head = {"model": self.model} if self.model is not None else {}
        body = {k: getattr(self, k) for k in (*COUNTS, "parameters", "flops", "usd")}
        tail = {k: getattr(self, k) for k in ("backend", "replayed") if getattr(self, k) is not None}
        return {**head, **body, **tail}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageCost:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass(frozen=True)
class CellCost:
    decomposer: StageCost
    solver: StageCost

    def stages(self) -> dict[str, StageCost]:
        return {"decomposer": self.decomposer, "solver": self.solver}

    def total(self, key: str) -> float | None:
        """Sum of one field over both stages; None when any stage's value is unknown."""
        values = [getattr(s, key) for s in self.stages().values()]
        return None if any(v is None for v in values) else float(sum(values))

    def totals(self) -> dict[str, float | None]:
        """The cell's nominal cost on each axis of the cost frontier: tokens, FLOPs, USD."""
        tokens = float(sum(s.tokens for s in self.stages().values()))
        return {"tokens": tokens, "flops": self.total("flops"), "usd": self.total("usd")}

    def to_json(self) -> dict[str, Any]:
        return {role: stage.to_json() for role, stage in self.stages().items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellCost:
        return cls(*(StageCost.from_json(data.get(role) or {}) for role in STAGES))


UNKNOWN_COST = {"tokens": None, "flops": None, "usd": None}


@dataclass(frozen=True)
class CellResult:
    """One (task, decomposer, solver) cell: its status, scores, where lm-eval wrote it, cost."""

    id: str
    task: str
    decomposer: str
    solver: str
    label: str
    status: Status = "pending"
    error: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    cost: CellCost | None = None
    n: int | None = None  # lm-eval's effective sample count
    output_dir: str | None = None  # the folder holding results_<date>.json
    load_seconds: float | None = None
    wall_seconds: float | None = None
    node: dict[str, Any] | None = None  # the Ray node that ran it (--executor ray)
    resumed: bool = False  # kept from an earlier run into the same DIR
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know: kept

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def totals(self) -> dict[str, float | None]:
        return self.cost.totals() if self.cost else dict(UNKNOWN_COST)

    def failed(self, error: str) -> CellResult:
        return replace(self, status="failed", error=error, metrics={}, cost=None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in ("id", "task", "decomposer", "solver", "label")}
        if self.load_seconds is not None:
            out["load_seconds"] = self.load_seconds
        out.update(status=self.status, error=self.error, metrics=dict(self.metrics))
        for key in ("n", "output_dir"):
            if self.ok or getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["cost"] = self.cost.to_json() if self.cost else None
        for key in ("wall_seconds", "node"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.resumed:
            out["resumed"] = True
        return {**out, **{k: v for k, v in self.extra.items() if k not in out}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CellResult:
        try:
            known = _known(cls, data)
            cost = data.get("cost")
            return cls(**{**known, "cost": CellCost.from_json(cost) if isinstance(cost, dict) else None})
        except (TypeError, AttributeError) as exc:
            raise DQError(f"study.json: a cell record lacks a field ({exc}); rerun `dq study`") from None


@dataclass(frozen=True)
class ShardInfo:
    """This folder holds share ``k`` of ``n`` (``--shard K/N``): the cells it ran."""

    k: int
    n: int
    cells: list[str]


@dataclass
class StudyResult:
    """study.json: the study's identity, each cell, and (once finished) its reports. Filled in
    as cells finish (executors replace ``cells[i]``), so it is mutable; cells are not."""

    study: str
    study_file: str
    out: str
    cache: str
    spec: dict[str, Any]
    started: str
    cells: list[CellResult]
    reuse: str = ""
    finished: str | None = None
    study_sha256: str | None = None
    shard: ShardInfo | None = None
    host: str | None = None  # shards: where it ran, and the study file's text for --merge
    study_text: str | None = None
    runtime: dict[str, Any] | None = None  # the executor and cluster (--executor ray, --merge)
    passes: list[dict[str, Any]] | None = None  # Ray's decomposer passes
    wall_seconds: float | None = None
    failures: list[str] | None = None
    report: dict[str, Any] | None = None  # what write_outputs wrote, or why it could not
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know: kept

    def ok_cells(self) -> list[CellResult]:
        return [c for c in self.cells if c.ok]

    def count(self, status: Status) -> int:
        return sum(c.status == status for c in self.cells)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"study": self.study, "study_file": self.study_file}
        if self.study_sha256 is not None:
            out["study_sha256"] = self.study_sha256
        out.update(out=self.out, cache=self.cache, spec=self.spec, started=self.started)
        out.update(finished=self.finished, reuse=self.reuse, cells=[c.to_json() for c in self.cells])
        if self.shard is not None:
            out["shard"] = {"k": self.shard.k, "n": self.shard.n, "cells": list(self.shard.cells)}
        for key in ("host", "study_text", "runtime", "passes", "wall_seconds", "failures", "report"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return {**out, **{k: v for k, v in self.extra.items() if k not in out}}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str | Path = "study.json") -> StudyResult:
        if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
            raise DQError(f"{source}: not a dq study record (no cells list); pass a `dq study --out` folder")
        known = _known(cls, data)
        shard = data.get("shard")
        known["cells"] = [CellResult.from_json(c) for c in data["cells"]]
        try:
            known["shard"] = ShardInfo(int(shard["k"]), int(shard["n"]), list(shard["cells"])) if shard else None
            return cls(**known)
        except (TypeError, KeyError, ValueError) as exc:
            raise DQError(f"{source}: a study record lacks a field ({exc}); rerun `dq study`") from None

    def save(self, path: str | Path) -> Path:
        return write_json_atomic(path, self.to_json())


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The dataclass's fields found in ``data``, and every other key under ``extra``."""
    names = {f.name for f in fields(cls)} - {"extra"}
    return {**{k: v for k, v in data.items() if k in names}, "extra": {k: v for k, v in data.items() if k not in names}}


def read_study(folder: str | Path) -> StudyResult:
    """``folder``/study.json, or one clear error."""
    import json

    path = Path(folder) / "study.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DQError(f"{path}: cannot read ({exc.strerror}); pass a `dq study --out` folder") from None
    except ValueError as exc:
        raise DQError(f"{path}: not valid JSON ({exc}); rerun the command that wrote it") from None
    return StudyResult.from_json(data, path)
