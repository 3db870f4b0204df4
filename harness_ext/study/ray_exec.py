"""`dq study --executor ray`: a study's work as Ray tasks, placed by each model's resources.

Phase 1: one task per (model decomposer, task) runs the decomposer pass (study/passes.py): the
decomposer alone, writing the group's decompositions (``DIR/passes/<task>__<decomposer>/``,
two_stage's traces shape) and stage-cache rows. Phase 2: one task per cell, started as soon as
its pass is in, solves through replay (``decomposer=replay``, model/decomposers.py) of those
decompositions, shipped to it as a Ray object: N decomposers x M solvers cost N decomposer
passes, and a cell loads only its solver. A study model that is already a recording
(``backend: replay``) is shipped the same way; none/oracle cells, and every cell in dynamic mode
(whose decomposer calls follow the solver's answers), run whole in one task.

Nothing needs a shared filesystem: the driver ships cache rows and decompositions as Ray
objects, and each task returns its new cache rows and its cell folder's files (the worker's
temporary paths replaced by the driver's), which the driver writes under ``DIR/cells/`` (a
partial folder renamed when complete) and merges into the study's cache. A task whose worker or
node dies is retried by Ray (``max_retries``); a cell that finished is on the driver's disk, so
a rerun into DIR (``resumes``) recomputes only what did not finish.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness_ext.errors import DQError
from harness_ext.io import write_jsonl_atomic
from harness_ext.model.cache import Row, StageCache
from harness_ext.model.spec import REPLAY, VIRTUAL
from harness_ext.study import plan as work
from harness_ext.study_record import CellResult, StudyResult

RETRIES = 3  # Ray re-runs a task whose worker process or node died this many times
# The driver's settings every worker should share (a worker node's own DQ_DATA_DIR wins).
ENV_KEYS = ("DQ_THREADS", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM", "OMP_WAIT_POLICY")


def _ray():
    try:
        import ray
    except ImportError:
        raise DQError("--executor ray needs the ray package: pip install 'dq-harness[ray]' (or make setup)") from None
    return ray


# ------------------------------------------------------------------------------ worker side
def _node() -> dict[str, Any]:
    import ray

    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "ip": ray.util.get_node_ip_address(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def _apply_env(env: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in env.items() if k != "DQ_DATA_DIR"})
    if "DQ_DATA_DIR" in env:
        os.environ.setdefault("DQ_DATA_DIR", env["DQ_DATA_DIR"])


def _private_cache(tmp: str, row_lists: tuple[list[Row], ...]) -> tuple[Path, set[str]]:
    path = Path(tmp) / "stage_cache.sqlite"
    cache = StageCache(path)
    shipped: set[str] = set()
    for rows in row_lists:
        cache.put_many(rows)
        shipped |= {r[0] for r in rows}
    cache.close()
    return path, shipped


def _new_rows(path: Path, shipped: set[str]) -> list[Row]:
    cache = StageCache(path)
    try:
        return cache.rows(exclude=shipped)
    finally:
        cache.close()


def pass_task(study, cell, env: dict[str, str], *row_lists: list[Row]) -> dict[str, Any]:
    """Phase 1 (on a worker): the decomposer pass of ``cell``'s (task, decomposer)."""
    from harness_ext.study.passes import run_pass

    _apply_env(env)
    with tempfile.TemporaryDirectory(prefix="dq-pass-") as tmp:
        cache, shipped = _private_cache(tmp, row_lists)
        got = run_pass(study, cell, cache)
        return {**got, "rows": _new_rows(cache, shipped), "node": _node()}


@dataclass(frozen=True)
class Decompositions:
    """A group's recorded decompositions, shipped to its cells: where the traces file lies on
    the driver, and its text."""

    path: str
    text: str


def replay_args(model_args: dict[str, Any], path: str) -> dict[str, Any]:
    """A cell's model args with its decomposer replaced by the recorded decompositions."""
    args = {
        k: v
        for k, v in model_args.items()
        if k != "decomposer" and not k.startswith(("decomposer.", "decomposer_gen."))
    }
    return {**args, "decomposer": REPLAY, "decomposer.path": path}


def cell_task(
    study, cell, env: dict[str, str], recorded: Decompositions | None, *row_lists: list[Row]
) -> dict[str, Any]:
    """Phase 2 (on a worker): one cell (replaying ``recorded`` when given), its folder's files
    and new cache rows sent back. Files name the driver's paths, not this worker's."""
    from harness_ext.lmeval.tasks import task_manager
    from harness_ext.study.grid import run_cell

    _apply_env(env)
    with tempfile.TemporaryDirectory(prefix="dq-cell-") as tmp:
        cache, shipped = _private_cache(tmp, row_lists)
        moved: dict[bytes, bytes] = {}
        if recorded is not None:
            local = Path(tmp) / "replay" / Path(recorded.path).name
            local.parent.mkdir()
            local.write_text(recorded.text, encoding="utf-8")
            cell = replace(cell, model_args=replay_args(cell.model_args, str(local)), config=None)  # run_cell parses
            moved[str(local).encode()] = recorded.path.encode()
        moved[str(cache).encode()] = str(cell.model_args.get("cache", cache)).encode()
        record = run_cell(study, cell, Path(tmp) / "cells", task_manager(), cache=cache)
        folder = Path(tmp) / "cells" / cell.id
        files = {
            str(p.relative_to(folder)): _moved(p.read_bytes(), moved) for p in sorted(folder.rglob("*")) if p.is_file()
        }
        if record.output_dir:
            record = replace(record, output_dir=str(Path(record.output_dir).relative_to(folder)))
        return {"record": record, "files": files, "rows": _new_rows(cache, shipped), "node": _node()}


def _moved(data: bytes, moved: dict[bytes, bytes]) -> bytes:
    for old, new in moved.items():
        data = data.replace(old, new)
    return data


# ------------------------------------------------------------------------------ driver side
def write_cell(cells_dir: Path, cell_id: str, files: dict[str, bytes]) -> Path:
    """A returned cell folder under cells_dir/<id>/, all or nothing (renamed when complete)."""
    final, partial = cells_dir / cell_id, cells_dir / f".{cell_id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    for rel, data in files.items():
        target = partial / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    partial.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return final


def cluster_facts(ray, address: str | None) -> dict[str, Any]:
    nodes = [
        {
            "node_id": n["NodeID"],
            "ip": n.get("NodeManagerAddress"),
            "alive": n.get("Alive"),
            "resources": n["Resources"],
        }
        for n in ray.nodes()
    ]
    return {"executor": "ray", "ray": ray.__version__, "address": address or "local", "nodes": nodes}


def _check_reachable(address: str | None) -> None:
    """A HOST:PORT that takes no connection fails here in seconds (Ray itself retries for minutes)."""
    if not address or address == "auto" or ":" not in address:
        return
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise DQError(
            f"--address {address}: no Ray cluster answers there ({exc}); start one (ray start --head) "
            "or leave --address out to start Ray on this machine"
        ) from None


def _where(node: dict[str, Any]) -> str:
    return f"{node['ip']} (node {node['node_id'][:8]})"


@dataclass
class RayExecutor:
    """Runs a study's passes and cells as Ray tasks (see the module docstring)."""

    address: str | None = None
    retries: int = RETRIES
    resumes: bool = True
    on_finish: Callable[[CellResult], None] | None = None  # called per finished cell (tests)

    def __post_init__(self) -> None:  # before the study writes anything
        _ray()
        _check_reachable(self.address)

    def run(self, study, cells, state: StudyResult, out: Path, save: Callable[[], None]) -> None:
        ray = _ray()
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise DQError(
                    f"--address {self.address}: no Ray cluster to join ({_reason(exc)}); start one "
                    "(ray start --head) or leave --address out to start Ray on this machine"
                ) from None
        cache = StageCache(Path(state.cache))
        try:
            state.runtime = cluster_facts(ray, self.address)
            state.passes = []
            self._drive(ray, study, cells, state, out, save, cache)
        finally:
            cache.close()
            if started:
                ray.shutdown()

    def _drive(self, ray, study, cells, state, out: Path, save, cache: StageCache) -> None:
        env = {k: os.environ[k] for k in (*ENV_KEYS, "DQ_DATA_DIR") if k in os.environ}
        start_rows = cache.rows()
        base, known = ray.put(start_rows), {r[0] for r in start_rows}
        remote_pass = ray.remote(max_retries=self.retries)(pass_task)
        remote_cell = ray.remote(max_retries=self.retries)(cell_task)
        refs: dict[Any, tuple[str, Any]] = {}  # in flight: what each Ray object is

        def submit_cells(indices: list[int], recorded: Decompositions | None, cell_study) -> None:
            shipped = ray.put(recorded)  # once for the group; the driver owns what it ships
            # and what finished tasks answered since the start: a cell that falls back to the
            # single-stage prompt asks what a `none` cell already asked (the serial run's reuse)
            since = ray.put(cache.rows(exclude=known))
            for i in indices:
                cell = cells[i]
                names = [cell.solver] if recorded else [cell.decomposer, cell.solver]  # a replay loads no decomposer
                ref = remote_cell.options(**work.resources(study, names)).remote(
                    cell_study, cell, env, shipped, base, since
                )
                refs[ref] = ("cell", i)

        for group in work.groups(cells):
            todo = [i for i in group.cells if state.cells[i].status == "pending"]
            for i in [i for i in todo if cells[i].skip]:
                state.cells[i] = replace(state.cells[i], status="skipped", error=cells[i].skip)
            todo = [i for i in todo if not cells[i].skip]
            source = _source(study, group.decomposer)
            if todo and source == "pass":
                need = work.resources(study, [group.decomposer])
                refs[remote_pass.options(**need).remote(study, cells[todo[0]], env, base)] = ("pass", (group, todo))
            elif todo:
                submit_cells(todo, _recorded(study, group) if source == "recorded" else None, study)
        save()
        total, finished = state.count("pending"), 0
        while refs:
            [ref], _ = ray.wait(list(refs), num_returns=1)
            kind, what = refs.pop(ref)
            if kind == "pass":
                group, todo = what
                try:
                    recorded, cell_study = self._pass_done(ray.get(ref), group, study, state, out, cache)
                except Exception as exc:  # noqa: BLE001 - the group's cells fail; others go on
                    for i in todo:
                        state.cells[i] = state.cells[i].failed(f"decomposer pass: {_reason(exc)}")
                        finished += 1
                    save()
                    continue
                submit_cells(todo, recorded, cell_study)
                continue
            finished += 1
            state.cells[what] = record = self._collect(ray, ref, state.cells[what], out, cache)
            save()
            where = _where(record.node) if record.node else "?"
            _say(f"[{finished}/{total}] {record.id} {record.status} on {where}, {record.wall_seconds} s")
            if self.on_finish is not None:
                self.on_finish(record)

    def _pass_done(self, got, group, study, state, out: Path, cache: StageCache):
        """A pass's rows into the cache, its traces under DIR/passes/: what its cells replay."""
        cache.put_many(got["rows"])
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S")
        path = out / "passes" / f"{group.task}__{group.decomposer}" / f"traces_{group.task}_{stamp}.jsonl"
        write_jsonl_atomic(path, got["traces"])
        state.passes = state.passes if state.passes is not None else []
        state.passes.append(
            {"task": group.task, "decomposer": group.decomposer, "node": got["node"], "stats": got["stats"],
             "parameters": got["parameters"], "traces": str(path)}
        )  # fmt: skip
        _say(f"decomposer pass {group.decomposer} on {group.task} done on {_where(got['node'])}")
        model = study.models[group.decomposer]
        if model.parameters is None and got["parameters"]:  # FLOPs of the replayed decomposer, as measured
            study = replace(
                study, models={**study.models, group.decomposer: replace(model, parameters=got["parameters"])}
            )
        return Decompositions(str(path), path.read_text(encoding="utf-8")), study

    def _collect(self, ray, ref, pending: CellResult, out: Path, cache: StageCache) -> CellResult:
        try:
            got = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - retries exhausted: the cell fails, others go on
            return pending.failed(_reason(exc))
        record: CellResult = got["record"]
        folder = write_cell(out / "cells", record.id, got["files"])
        if record.output_dir:
            record = replace(record, output_dir=str(folder / record.output_dir))
        cache.put_many(got["rows"])
        return replace(record, node=got["node"])


def _source(study, decomposer: str) -> str | None:
    """Where a group's cells get their decompositions: a pass run here ("pass"), a study model
    that is already a recording ("recorded"), or the cell itself (none/oracle, dynamic mode,
    whose decomposer calls follow the solver's answers)."""
    if decomposer in VIRTUAL or study.options.get("mode") == "dynamic":
        return None
    return "recorded" if study.models[decomposer].backend == REPLAY else "pass"


def _recorded(study, group) -> Decompositions | None:
    """A replay model's traces for the group's task, shipped (workers need not have the path);
    None leaves the cell to say what is missing."""
    from harness_ext.rundir import traces_files

    try:
        path = traces_files(study.models[group.decomposer].args["path"]).get(group.task)
    except DQError:
        return None
    return Decompositions(str(path), path.read_text(encoding="utf-8")) if path else None


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _say(line: str) -> None:
    print(f"dq study: {line}", file=sys.stderr, flush=True)
