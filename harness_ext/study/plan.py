"""The work plan of a distributed study: decomposer passes, cell groups, shares and resources.

A *group* is every cell of one (task, decomposer): the cells that reuse one decomposer pass.
Shards take whole groups, so a pass never repeats across shards; the Ray executor runs each
model decomposer's pass once, then the group's cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness_ext.errors import DQError
from harness_ext.model.spec import REPLAY, VIRTUAL
from harness_ext.study_record import CellResult, read_study

if TYPE_CHECKING:
    from harness_ext.study.cells import Cell
    from harness_ext.study.spec import Study

DEFAULT_CPUS = 1.0  # a model stage with no `resources:` takes one CPU, as a Ray task does


@dataclass(frozen=True)
class Group:
    task: str
    decomposer: str
    cells: tuple[int, ...]  # indices into the plan, in plan order


def groups(cells: list[Cell]) -> list[Group]:
    """Every (task, decomposer) group, in plan order."""
    found: dict[tuple[str, str], list[int]] = {}
    for i, cell in enumerate(cells):
        found.setdefault((cell.task, cell.decomposer), []).append(i)
    return [Group(task, dec, tuple(idx)) for (task, dec), idx in found.items()]


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not 1 <= int(m[1]) <= int(m[2]):
        raise DQError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. --shard 2/8")
    return int(m[1]), int(m[2])


def shares(cells: list[Cell], n: int) -> list[list[int]]:
    """Cell indices of each of ``n`` shares: whole groups, largest first to the share with the
    fewest cells so far (ties: the lower share). Deterministic: every shard computes the same."""
    out: list[list[int]] = [[] for _ in range(n)]
    ordered = sorted(groups(cells), key=lambda g: -len(g.cells))  # stable: plan order among equals
    for group in ordered:
        target = min(range(n), key=lambda k: (len(out[k]), k))
        out[target].extend(group.cells)
    return [sorted(share) for share in out]


def shard_cells(cells: list[Cell], k: int, n: int) -> list[Cell]:
    """Share ``k`` (1-based) of ``n``, in plan order."""
    return [cells[i] for i in shares(cells, n)[k - 1]]


def resources(study: Study, names: list[str]) -> dict[str, float]:
    """Ray task options for a task that loads these models: the largest need per resource
    (they share the node), one CPU when none is declared; none/oracle/replay need nothing."""
    need: dict[str, float] = {"num_cpus": 0.0}
    for name in names:
        if name in VIRTUAL or study.models[name].backend == REPLAY:
            continue
        for key, value in {"num_cpus": DEFAULT_CPUS, **study.models[name].resources}.items():
            need[key] = max(need.get(key, 0.0), value)
    return need


def finished_cells(out: Path, study: Study) -> dict[str, CellResult]:
    """Cells an earlier run of the same study file into ``out`` finished (ok, outputs on disk),
    by id; nothing when the study file changed since (or its study.json cannot be read)."""
    if not (out / "study.json").is_file():
        return {}
    try:
        state = read_study(out)
    except DQError:
        return {}
    if state.study_sha256 != study.sha256:
        return {}
    return {
        c.id: replace(c, resumed=True)
        for c in state.cells
        if c.ok and c.output_dir and list(Path(c.output_dir).glob("results_*.json"))
    }
