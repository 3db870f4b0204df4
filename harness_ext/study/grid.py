"""`dq study`: decomposer x solver x task grids with decomposition reuse and cost accounting.

    dq study STUDY.yaml [--out DIR] [--dry-run] [--executor serial|ray [--address A]] [--shard K/N]
    dq study --merge DIR_1 ... DIR_N --out DIR

A study file (see studies/*.yaml) names ``tasks`` (lm-eval task or group names from dq_tasks),
``models`` (name -> {backend, args}), ``decomposers`` (model names, ``none``, ``oracle``) and
``solvers`` (model names). Every (decomposer, solver, task) cell runs through
``lm_eval.simple_evaluate`` with a ``two_stage`` model and writes lm-eval's usual layout under
``DIR/cells/<cell-id>/``. Reuse: inner models load once per study (a ModelPool that evicts what no later cell needs) and every
stage output goes to ``DIR/stage_cache.sqlite``, so N decomposers x M solvers cost N
decomposition passes per task and a rerun generates nothing (each cell is recomputed from the
cache, so study.json always describes this invocation). Then ``DIR/study.json``,
``DIR/leaderboard.md``, ``DIR/comparisons.json``, ``DIR/compare/`` (the full `dq compare`
report) and ``DIR/plots/``. Exit status: 0, 1 when a cell failed, 2 for a bad study file.
``--executor ray`` spreads the work over a Ray cluster (study/ray_exec.py), ``--shard K/N``
runs one share for a batch-system array and ``--merge`` joins the shares (study/shards.py);
docs/scale.md has both recipes.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from harness_ext.errors import DQError
from harness_ext.lmeval.pool import ModelPool
from harness_ext.lmeval.tasks import task_manager
from harness_ext.model.spec import REPLAY, VIRTUAL
from harness_ext.study import cost as costs
from harness_ext.study.cells import Cell
from harness_ext.study.spec import Study, bad_study, load_study  # noqa: F401 - load_study: callers import it from here
from harness_ext.study_record import CellResult, ShardInfo, StudyResult

# --------------------------------------------------------------------------------------------
# Reading and validating a study file (no model is loaded here)
# --------------------------------------------------------------------------------------------


def _gold_subquestions(task: str) -> bool:
    from dq_tasks.registry import has_gold_subquestions

    return has_gold_subquestions(task) is not False  # not ours: the cell tries and fails clearly


def plan(study: Study, cache_path: str | Path | None = None) -> list[Cell]:
    """Every cell with its two_stage model args, validated by the model's own parser."""
    cells = []
    for task in study.tasks:
        for dec in study.decomposers:
            for sol in study.solvers:
                cell = Cell(task, dec, sol)
                try:
                    cell = cell.with_model_args(_model_args(study, dec, sol, cache_path))
                except DQError as exc:
                    raise bad_study(f"cell {cell.label} on {task}: {exc}") from None
                if dec == "oracle" and not _gold_subquestions(task):
                    cell.skip = f"not applicable: {task} has no gold sub-questions for the oracle decomposer"
                cells.append(cell)
    return cells


def _model_args(study: Study, dec: str, sol: str, cache_path) -> dict[str, Any]:
    args: dict[str, Any] = dict(study.forward)
    for role, name in (("decomposer", dec), ("solver", sol)):
        if name in VIRTUAL:
            args[role] = name
            continue
        model = study.models[name]
        args[role] = model.backend
        args.update({f"{role}.{k}": v for k, v in model.args.items()})
        if model.backend != REPLAY:  # a replayed decomposition generates nothing
            args.update({f"{role}_gen.{k}": v for k, v in study.gen[role].items()})
    args.update(study.options)
    if cache_path is not None:
        args["cache"] = str(cache_path)
    return args


# --------------------------------------------------------------------------------------------
# Running cells
# --------------------------------------------------------------------------------------------


def _metrics(results: dict, task: str) -> dict[str, float]:
    row = results.get("results", {}).get(task, {})
    return {
        k: v
        for k, v in row.items()
        if k not in ("alias", "sample_len") and isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def run_cell(
    study: Study, cell: Cell, cells_dir: Path, tm, pool: ModelPool | None = None, cache: str | Path | None = None
) -> CellResult:
    """One cell through lm-eval; its outputs land in cells_dir/<id>/ only when complete.

    ``cache``: the stage cache this process uses instead of the cell's own (a Ray worker's
    private copy); the results file still names the cell's, where the entries end up."""
    from harness_ext.lmeval.runner import evaluate_and_save
    from harness_ext.lmeval.two_stage import TwoStageLM

    record = cell.pending()
    final, partial = cells_dir / cell.id, cells_dir / f".{cell.id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    start = time.perf_counter()
    lm = None
    try:
        config = cell.planned_config()  # inside the try: a bad recording to replay fails the cell
        lm = TwoStageLM.from_config(replace(config, cache=str(cache)) if cache else config, pool)
        record = replace(record, load_seconds=round(time.perf_counter() - start, 3))
        before = costs.snapshot(lm)

        def label_cell(results: dict[str, Any], tracker: Any) -> None:
            # An LM object gives model "TwoStageLM" and model_source "CUSTOM"; "two_stage" plus
            # the model_args lets `dq compare` read both sides from a cell as from `dq eval`.
            tracker.general_config_tracker.model_source = "two_stage"
            results["config"]["model"] = "two_stage"
            results["config"]["dq_study"] = {"study": study.name, "cell": cell.id, "label": cell.label}
            if cache and isinstance(results["config"].get("dq"), dict):
                results["config"]["dq"]["cache"] = cell.model_args.get("cache")

        results, _ = evaluate_and_save(
            lm, [cell.task], partial, seed=study.seed, manager=tm, before_save=label_cell,
            model_args=cell.model_args, limit=study.limit, apply_chat_template=study.apply_chat_template,
            metadata=study.metadata,
        )  # fmt: skip
        after = costs.snapshot(lm)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
        model_dir = next(final.glob("*/results_*.json")).parent
        names = {"decomposer": cell.decomposer, "solver": cell.solver}
        params = {n: m.parameters for n, m in study.models.items()}
        record = replace(
            record,
            status="ok",
            metrics=_metrics(results, cell.task),
            n=results.get("n-samples", {}).get(cell.task, {}).get("effective"),
            output_dir=str(model_dir),
            cost=costs.cell_cost(lm, before, after, names, study.prices, params),
        )
    except Exception as exc:  # noqa: BLE001 - a failing cell is recorded; the others go on
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        final.mkdir(parents=True, exist_ok=True)
        (final / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        record = record.failed(f"{type(exc).__name__}: {exc}".strip())
    finally:
        if lm is not None:
            lm.close()
    return replace(record, wall_seconds=round(time.perf_counter() - start, 3))


class Executor(Protocol):
    """Runs a study's pending cells: replaces ``state.cells[i]`` for each and saves study.json
    (``save()``) as cells finish, so a killed study keeps what finished."""

    resumes: bool  # finished cells of an earlier run into the same DIR are kept, not recomputed

    def run(self, study: Study, cells: list[Cell], state: StudyResult, out: Path, save: Callable[[], None]) -> None:
        """Run every cell whose state is still pending."""


@dataclass
class SerialExecutor:
    """Every cell in turn in this process, sharing loaded models (the default)."""

    progress: bool = True
    resumes: bool = False  # each cell is recomputed from the stage cache instead

    def run(self, study: Study, cells: list[Cell], state: StudyResult, out: Path, save: Callable[[], None]) -> None:
        from tqdm import tqdm

        tm = task_manager()
        bar = tqdm(cells, desc="dq study cells", unit="cell", disable=not self.progress, file=sys.stderr)
        pool = ModelPool()
        try:
            for i, cell in enumerate(bar):
                bar.set_postfix_str(cell.id)
                pool.evict(keep=_model_keys(cells[i:]))  # models no later cell uses are freed
                if state.cells[i].status != "pending":
                    continue
                if cell.skip:
                    state.cells[i] = replace(cell.pending(), status="skipped", error=cell.skip)
                else:
                    state.cells[i] = run_cell(study, cell, out / "cells", tm, pool)
                save()
        finally:
            pool.close()
            bar.close()


def run_study(
    study: Study,
    out: str | Path,
    progress: bool = True,
    cache: str | Path | None = None,
    executor: Executor | None = None,
    shard: tuple[int, int] | None = None,
) -> StudyResult:
    """Run the study (or its share ``shard`` = (K, N)) into ``out`` and write its reports."""
    from harness_ext.study import plan as work

    executor = executor or SerialExecutor(progress)
    out = Path(out)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    # Another study's cache may be shared (several processes at once is fine: SQLite WAL).
    cache_path = Path(cache).resolve() if cache else out / "stage_cache.sqlite"
    cells = plan(study, cache_path)
    if shard is not None:
        cells = work.shard_cells(cells, *shard)
    if study.torch_threads:  # the study file's choice wins over the CPU default (model/runtime.py)
        os.environ["DQ_THREADS"] = str(study.torch_threads)
    done = work.finished_cells(out, study) if executor.resumes else {}
    state = StudyResult(
        study=study.name,
        study_file=study.path,
        study_sha256=study.sha256,
        out=str(out),
        cache=str(cache_path),
        spec=_spec_dict(study),
        started=time.strftime("%Y-%m-%dT%H:%M:%S"),
        reuse="every cell is recomputed from the stage cache: generated == 0 where nothing was new",
        cells=[done.get(c.id) or c.pending() for c in cells],
    )
    if shard is not None:  # what `dq study --merge` checks and needs, wherever the shard ran
        state.shard = ShardInfo(shard[0], shard[1], [c.id for c in cells])
        state.host = socket.gethostname()
        state.study_text = Path(study.path).read_text(encoding="utf-8")

    def save() -> None:
        state.save(out / "study.json")

    save()
    start = time.perf_counter()
    executor.run(study, cells, state, out, save)
    state.wall_seconds = round(time.perf_counter() - start, 3)
    return finish_study(study, state, out, report=shard is None)


def finish_study(study: Study, state: StudyResult, out: Path, report: bool = True) -> StudyResult:
    """failures, then (unless a shard, whose reports come from --merge) the reports and site."""
    failures = [f"{c.id}: {c.error}" for c in state.cells if c.status == "failed"]
    state.failures = failures
    if report:
        from harness_ext.study.report import write_outputs

        try:
            state.report = write_outputs(study, state, out)
        except Exception as exc:  # noqa: BLE001 - keep study.json; say what went wrong
            state.report = {"error": f"{type(exc).__name__}: {exc}"}
            failures.append(f"report: {type(exc).__name__}: {exc}")
    state.finished = time.strftime("%Y-%m-%dT%H:%M:%S")
    state.save(out / "study.json")
    if report:
        _write_site(out, state, failures)
    return state


def _write_site(out: Path, state: StudyResult, failures: list[str]) -> None:
    """`dq view` of the study beside its reports (DIR/site/index.html)."""
    from harness_ext.view.site import build_site

    try:
        build_site([out], out / "site")
    except Exception as exc:  # noqa: BLE001 - the study's own outputs stand; say what went wrong
        failures.append(f"site: {type(exc).__name__}: {exc}")
        state.save(out / "study.json")


def _model_keys(cells: list[Cell]) -> set[str]:
    """The inner models these cells load (ModelPool keys)."""
    keys: set[str] = set()
    for cell in cells:
        if not cell.skip:
            config = cell.config
            if config is not None:
                keys |= {s.model_key() for s in (config.decomposer, config.solver) if s.is_model}
    return keys


def _spec_dict(study: Study) -> dict[str, Any]:
    d = asdict(study)
    d["models"] = {k: asdict(v) for k, v in study.models.items()}
    return d
