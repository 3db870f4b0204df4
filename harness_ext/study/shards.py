"""`dq study --merge DIR_1 ... DIR_N --out DIR`: the shards of one study (``--shard K/N``) joined
into one study folder: cells copied, stage caches merged, then the reports a whole run writes.

Refused, each as one error line and before anything is written: a folder that is not a shard,
shards of different study files (by the file's sha256), of different N, missing shares,
unfinished cells, and a cell present in two shards with different results.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness_ext.errors import DQError
from harness_ext.model.cache import StageCache
from harness_ext.study import grid
from harness_ext.study.spec import Study, load_study
from harness_ext.study_record import CellResult, ShardInfo, StudyResult, read_study


def _read(folder: Path) -> StudyResult:
    if not (folder / "study.json").is_file():
        raise DQError(f"--merge: {folder} has no study.json; pass the --out folders of `dq study ... --shard K/N`")
    try:
        state = read_study(folder)
    except DQError as exc:
        raise DQError(f"--merge: {exc}; rerun that shard") from None
    if state.shard is None:
        raise DQError(f"--merge: {folder} is a whole study, not a shard (it ran without --shard K/N)")
    return state


def _shard(state: StudyResult) -> ShardInfo:
    if state.shard is None:  # _read refuses such a folder first
        raise DQError(f"--merge: {state.out} is a whole study, not a shard (it ran without --shard K/N)")
    return state.shard


def _check_same_study(folders: list[Path], states: list[StudyResult]) -> None:
    first = states[0]
    for folder, state in zip(folders[1:], states[1:]):
        if state.study_sha256 != first.study_sha256:
            raise DQError(
                f"--merge: shards of different study files: {folders[0]} ran {first.study_file} "
                f"(sha256 {str(first.study_sha256)[:12]}), {folder} ran {state.study_file} "
                f"(sha256 {str(state.study_sha256)[:12]}); merge the shards of one study file"
            )
        if _shard(state).n != _shard(first).n:
            raise DQError(
                f"--merge: {folders[0]} is a shard of {_shard(first).n} but {folder} of {_shard(state).n}; "
                "merge the shards of one --shard K/N array"
            )


def _check_complete(folders: list[Path], states: list[StudyResult]) -> None:
    n = _shard(states[0]).n
    missing = sorted(set(range(1, n + 1)) - {_shard(s).k for s in states})
    if missing:
        got = ", ".join(f"{_shard(s).k} ({f})" for f, s in zip(folders, states))
        raise DQError(
            f"--merge: shard(s) {', '.join(map(str, missing))} of {n} missing (got {got}); "
            "pass every DIR_K of the array, or rerun the missing ones"
        )
    for folder, state in zip(folders, states):
        pending = [c.id for c in state.cells if c.status == "pending"]
        if pending or not state.finished:
            raise DQError(
                f"--merge: shard {_shard(state).k} ({folder}) did not finish "
                f"({', '.join(pending) or 'no finish time'}); rerun it with the same --shard and --out"
            )


def _outcome(folder: Path, record: CellResult) -> tuple[Any, ...]:
    """What must agree between two copies of a cell: status, scores and every doc's answers."""
    answers = []
    for path in sorted((folder / "cells" / record.id).glob("*/samples_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            answers.append((row.get("doc_id"), row.get("doc_hash"), json.dumps(row.get("filtered_resps"))))
    return record.status, json.dumps(record.metrics, sort_keys=True), tuple(sorted(answers))


def _cells(folders: list[Path], states: list[StudyResult]) -> dict[str, tuple[Path, CellResult]]:
    """Each cell id -> (shard folder, record); an overlap must have equal outcomes."""
    found: dict[str, tuple[Path, CellResult]] = {}
    for folder, state in zip(folders, states):
        for record in state.cells:
            seen = found.get(record.id)
            if seen is None:
                found[record.id] = (folder, record)
            elif _outcome(*seen) != _outcome(folder, record):
                raise DQError(
                    f"--merge: cell {record.id} is in {seen[0]} and {folder} with different results; "
                    "keep one of the two runs of it (rerun that shard into a fresh folder)"
                )
    return found


def _study(folders: list[Path], state: StudyResult, out: Path) -> Study:
    """The study file the shards ran: its own path when it still holds those bytes, else the
    copy each shard keeps in its study.json."""
    path = Path(state.study_file or "")
    if path.is_file():
        study = load_study(path)
        if study.sha256 == state.study_sha256:
            return study
    if not state.study_text:
        raise DQError(f"--merge: {folders[0]}/study.json lacks the study file's text; rerun the shards")
    copy = out / (path.name or "study.yaml")
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(state.study_text, encoding="utf-8")
    return load_study(copy)


def _copy_cell(src: Path, out: Path, record: CellResult) -> CellResult:
    final, partial = out / "cells" / record.id, out / "cells" / f".{record.id}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    if (src / "cells" / record.id).is_dir():
        shutil.copytree(src / "cells" / record.id, partial)
        shutil.rmtree(final, ignore_errors=True)
        partial.rename(final)
    if record.output_dir:
        record = replace(record, output_dir=str(final / Path(record.output_dir).name))
    return record


def merge(folders: list[Path], out: Path) -> StudyResult:
    """The merged study's state (study.json), reports written under ``out``."""
    if len(set(f.resolve() for f in folders)) < len(folders):
        raise DQError("--merge: a shard folder is named twice")
    if any(out.resolve() == f.resolve() for f in folders):
        raise DQError(f"--merge: --out {out} is one of the shards; write the merged study to a new folder")
    states = [_read(f) for f in folders]
    _check_same_study(folders, states)
    _check_complete(folders, states)
    found = _cells(folders, states)
    study = _study(folders, states[0], out)
    cache_path = out / "stage_cache.sqlite"
    order = [c.id for c in grid.plan(study, cache_path)]
    lost = [i for i in order if i not in found]
    if lost:
        raise DQError(f"--merge: no shard holds cell(s) {', '.join(lost)}; were the shards run with this study file?")
    (out / "cells").mkdir(parents=True, exist_ok=True)
    cache = StageCache(cache_path)
    try:
        for folder, state in zip(folders, states):
            shard_cache = folder / Path(state.cache or "stage_cache.sqlite").name
            if shard_cache.is_file():
                source = StageCache(shard_cache)
                cache.put_many(source.rows())
                source.close()
    finally:
        cache.close()
    first = states[0]
    state = StudyResult(
        study=first.study,
        study_file=first.study_file,
        study_sha256=first.study_sha256,
        spec=first.spec,
        reuse=first.reuse,
        out=str(out),
        cache=str(cache_path),
        started=min(s.started for s in states),
        cells=[_copy_cell(found[i][0], out, found[i][1]) for i in order],
        runtime={
            "executor": "shards",
            "shards": [
                {"k": _shard(s).k, "dir": str(f), "host": s.host, "wall_seconds": s.wall_seconds}
                for f, s in sorted(zip(folders, states), key=lambda fs: _shard(fs[1]).k)
            ],
        },
        wall_seconds=max(s.wall_seconds or 0 for s in states),
    )
    return grid.finish_study(study, state, out)
