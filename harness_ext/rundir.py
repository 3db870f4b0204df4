"""Finding dq's files in lm-eval run folders: ``traces_<task>_<date>.jsonl`` by task.

lm-eval writes ``<output_path>/<model>/results_<date>.json`` and, beside it, one
``samples_<task>_<date>.jsonl`` per task; two_stage adds ``traces_<task>_<date>.jsonl``. The
date is an ISO timestamp with ':' replaced by '-' (no '_'), so it sorts chronologically and
ends every file name after the last '_'.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness_ext.errors import DQError
from harness_ext.model.records import TraceRecord

TRACES = "traces"


def date_of(path: Path) -> str:
    """The run date a results/samples/traces file name ends with."""
    return path.stem.rsplit("_", 1)[-1]


def task_of(path: Path, kind: str = TRACES) -> str:
    """The task a ``<kind>_<task>_<date>.jsonl`` file belongs to."""
    return path.stem[len(kind) + 1 :].rsplit("_", 1)[0]


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
        raise DQError(f"{p}: no traces_*.jsonl here or one level down; was it a two_stage run with --output_path?")
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
        out[task] = max(files, key=lambda f: (date_of(f), f.stat().st_mtime))
    return out


def read_traces(path: Path) -> list[TraceRecord]:
    """A traces file's records."""
    records = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(TraceRecord.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                raise DQError(f"{path} line {n}: not a two_stage trace record ({type(exc).__name__}: {exc})") from None
    return records
