"""Finding dq's files in lm-eval run folders: ``traces_<task>_<date>.jsonl`` by task.

lm-eval writes ``<output_path>/<model>/results_<date>.json`` and, beside it, one
``samples_<task>_<date>.jsonl`` per task; two_stage adds ``traces_<task>_<date>.jsonl``. The
date is an ISO timestamp with ':' replaced by '-' (no '_'), so it sorts chronologically and
ends every file name after the last '_'.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from harness_ext.errors import DQError
from harness_ext.model.records import TraceRecord

TRACES = "traces"
# lm-eval's date_id: datetime.now().isoformat() with ':' -> '-'
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(\.\d+)?")


def date_of(path: Path) -> str:
    """The run date a results/samples/traces file name ends with."""
    return path.stem.rsplit("_", 1)[-1]


def task_of(path: Path, kind: str = TRACES) -> str:
    """The task a ``<kind>_<task>_<date>.jsonl`` file belongs to. A file renamed without its
    date (``traces_gsm8k_dq.jsonl``) names its task by its records' ``task`` field: cutting at the
    last '_' would make it ``gsm8k``."""
    if _DATE.fullmatch(date_of(path)):
        return path.stem[len(kind) + 1 :].rsplit("_", 1)[0]
    with open(path, encoding="utf-8") as fh:
        first = next((line for line in fh if line.strip()), "")
    task = _record(path, 1, first).task if first else None
    return task or path.stem[len(kind) + 1 :]


def traces_files(path: str | Path) -> dict[str, Path]:
    """task -> traces file named by ``path``: one traces_*.jsonl file, or a folder holding them
    (a run folder, or lm-eval's --output_path / a study cell folder: one level down). Several
    dates of one task in one folder (reruns into one --output_path): the newest."""
    p = Path(path).expanduser()
    if p.is_file():
        if not (p.name.startswith(f"{TRACES}_") and p.suffix == ".jsonl"):
            raise DQError(f"{p}: expected a traces_<task>_<date>.jsonl file or a two_stage run folder")
        return {task_of(p): p}
    if not p.is_dir():
        raise DQError(f"{p}: no such file or folder; give a two_stage run folder or a traces_*.jsonl file")
    found = sorted(p.glob(f"{TRACES}_*.jsonl")) or sorted(p.glob(f"*/{TRACES}_*.jsonl"))
    if not found:
        study = " (a dq study folder: name one of its cells, DIR/cells/<cell>)" if (p / "cells").is_dir() else ""
        raise DQError(
            f"{p}: no traces_*.jsonl here or one level down{study}; was it a two_stage run with --output_path?"
        )
    by_task: dict[str, list[Path]] = {}
    for f in found:
        by_task.setdefault(task_of(f), []).append(f)
    out = {}
    for task, files in by_task.items():
        folders = sorted({str(f.parent) for f in files})
        if len(folders) > 1:
            raise DQError(
                f"{p}: traces of task {task} in {len(folders)} run folders ({', '.join(folders)}); point at one of them"
            )
        out[task] = max(files, key=_newest)
    return out


def _newest(f: Path) -> tuple[bool, str, float]:
    """Sort key: dated names by date (a renamed, undated file counts as older), then mtime."""
    dated = bool(_DATE.fullmatch(date_of(f)))
    return dated, date_of(f) if dated else "", f.stat().st_mtime


def _record(path: Path, n: int, line: str) -> TraceRecord:
    """One JSONL line as a record, or one error naming the file and line."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        subs = data.get("subquestions") or []
        if not isinstance(data.get("doc_hash"), str) or not (
            isinstance(subs, list) and all(isinstance(s, str) for s in subs)
        ):
            raise TypeError("doc_hash must be a string and subquestions a list of strings")
        return TraceRecord.from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DQError(
            f"{path} line {n}: not a two_stage trace record ({type(exc).__name__}: {exc}); "
            "is the file truncated? record it again, or point decomposer.path at an intact run"
        ) from None


def read_traces(path: Path) -> list[TraceRecord]:
    """A traces file's records."""
    with open(path, encoding="utf-8") as fh:
        return [_record(path, n, line) for n, line in enumerate(fh, 1) if line.strip()]


def sha256_of(path: Path) -> str:
    """The file's content hash, so a result names exactly the recording it replayed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def results_of(traces: Path) -> Path:
    """The results file lm-eval wrote in the same run as ``traces`` (same folder, same date)."""
    return traces.parent / f"results_{date_of(traces)}.json"


def recording_config(traces: Path) -> dict[str, Any] | None:
    """The ``config.dq`` of the run that wrote ``traces`` (its results_<date>.json beside it),
    or None when that file is absent (a traces file copied on its own) or not dq's."""
    try:
        dq = json.loads(results_of(traces).read_text(encoding="utf-8")).get("config", {}).get("dq")
    except (OSError, ValueError, AttributeError):
        return None
    return dq if isinstance(dq, dict) else None


def recorded_name(dq: dict[str, Any] | None) -> str | None:
    """The decomposer that generated a recording's sub-questions: its stage name, or through a
    replay of a replay, the name that replay recorded (so a chain keeps naming the origin)."""
    spec = (dq or {}).get("decomposer")
    if not isinstance(spec, dict):
        return None
    if spec.get("backend") == "replay":
        return (spec.get("args") or {}).get("recorded")
    from harness_ext.model.spec import StageSpec

    return StageSpec("decomposer", str(spec.get("backend")), dict(spec.get("args") or {})).name


def describe_recording(path: str | Path) -> dict[str, Any]:
    """What a replay reads, for the results file: the folder or file as resolved, and per task
    the traces file, its sha256, and what the recording's results file says of its decomposer
    (name, prompt set, cap). ``recorded``: the generating decomposer(s), '+'-joined, or None."""
    from harness_ext.model.records import portable

    traces = {}
    for task, f in sorted(traces_files(path).items()):
        dq = recording_config(f)
        traces[task] = {
            "file": portable(str(f.resolve())),
            "results": portable(str(results_of(f).resolve())) if dq is not None else None,
            "sha256": sha256_of(f),
            "decomposer": recorded_name(dq),
            "prompts": (dq or {}).get("prompts"),
            "max_subquestions": (dq or {}).get("max_subquestions"),
            "origin": _origin(dq, task),
        }
    names = sorted({t["decomposer"] for t in traces.values() if t["decomposer"]})
    return {
        "resolved": portable(str(Path(path).expanduser().resolve())),
        "traces": traces,
        "recorded": "+".join(names) or None,
    }


def _origin(dq: dict[str, Any] | None, task: str) -> str | None:
    """A recording that was itself a replay: the traces file its sub-questions were generated in
    (followed back through every replay of the chain); None when this recording generated them."""
    spec = (dq or {}).get("decomposer") or {}
    if spec.get("backend") != "replay":
        return None
    before = ((spec.get("args") or {}).get("traces") or {}).get(task) or {}
    return before.get("origin") or before.get("file")
