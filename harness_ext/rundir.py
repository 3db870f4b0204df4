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
from harness_ext.naming import stage_name
from harness_ext.records import TraceRecord

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
    return stage_name(str(spec.get("backend")), dict(spec.get("args") or {}))


def describe_recording(path: str | Path) -> dict[str, Any]:
    """What a replay reads, for the results file: the folder or file as resolved, and per task
    the traces file, its sha256, and what the recording's results file says of its decomposer
    (name, prompt set, cap). ``recorded``: the generating decomposer(s), '+'-joined, or None."""
    from harness_ext.records import portable

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


# --------------------------------------------------------------------------- the whole run folder
# Everything above reads traces for decomposition replay; what follows is the rest of the run
# folder, so every reader (dq compare, dq view, distill export, the study's trace statistics and
# the demo) finds, dates and reads lm-eval's files one way.
RESULTS = "results"
SAMPLES = "samples"


class RunError(DQError):
    """A problem with a run folder or the runs given to `dq compare`; the message is one line."""


def find_results_file(path: str | Path) -> tuple[Path, list[str]]:
    """The results JSON a RUN argument refers to (the file, a run folder or lm-eval's
    --output_path one level up; the newest if several), with a note when there were several."""
    p = Path(path)
    if p.is_file():
        if p.suffix != ".json":
            raise RunError(f"{p}: expected an lm-eval results_*.json file or output directory")
        return p, []
    if not p.is_dir():
        raise RunError(f"{p}: no such file or directory")
    found = sorted(p.glob(f"{RESULTS}_*.json")) or sorted(p.glob(f"*/{RESULTS}_*.json"))
    if not found:
        raise RunError(f"{p}: no lm-eval results_*.json found (here or one level down)")
    found.sort(key=lambda f: (date_of(f), f.stat().st_mtime))
    notes = []
    if len(found) > 1:
        notes.append(f"{p} holds {len(found)} runs; using the newest, {found[-1].name}")
    return found[-1], notes


def results_files(path: Path) -> list[Path]:
    """The newest results_*.json of every folder under path (a study nests them two levels down)."""
    if path.is_file():
        return [path]
    newest: dict[Path, Path] = {}
    for f in sorted(path.rglob(f"{RESULTS}_*.json")):
        newest[f.parent] = f  # the date suffix sorts chronologically
    return [newest[d] for d in sorted(newest)]


def run_file(results_file: Path, task: str, kind: str = SAMPLES) -> Path:
    """Where the ``<kind>_<task>_<date>.jsonl`` of a results file's run is (it may not exist)."""
    return results_file.parent / f"{kind}_{task}_{date_of(results_file)}.jsonl"


def run_files(results_file: Path, kind: str = SAMPLES) -> dict[str, Path]:
    """task -> the samples (or traces) file written with the results file (same date); maybe none."""
    suffix = f"_{date_of(results_file)}.jsonl"
    return {f.name[len(kind) + 1 : -len(suffix)]: f for f in sorted(results_file.parent.glob(f"{kind}_*{suffix}"))}


def all_traces_files(root: Path) -> list[Path]:
    """Every traces file anywhere under root (each study cell, each rerun), in path order."""
    return sorted(root.rglob(f"{TRACES}_*.jsonl"))


def read_json(path: Path) -> dict:
    """A results file's content (an object), or one RunError line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RunError(f"{path}: not an lm-eval results file")
    return data


def read_jsonl(path: Path) -> list[dict]:
    """A JSONL file's records; blank lines skipped; a broken line is one RunError naming it."""
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RunError(f"{path}:{n}: truncated or invalid JSON ({exc.msg}); rerun what wrote it") from None
    return rows


STAGES = ("decomposer", "solver")


def stage_number(record: TraceRecord, stage: str, key: str) -> float:
    """A stage's ``prompt_tokens`` / ``completion_tokens`` / ``seconds`` as its trace line shows
    it: dynamic mode's totals over its calls, else the one call's view; 0 when not recorded."""
    if record.rounds is not None:
        obj: object = record.decomposer_totals if stage == "decomposer" else record.solver_totals
    else:
        obj = record.decomposer if stage == "decomposer" else record.solver
    value = getattr(obj, key, None)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def read_trace_lines(path: Path) -> list[tuple[TraceRecord, dict]]:
    """A traces file's records, each with its line as written (a page that shows the trace
    shows what was recorded: a field an older run did not write stays absent, not a default)."""
    out = []
    for n, line in enumerate(read_jsonl(path), 1):
        try:
            out.append((TraceRecord.from_json(line), line))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RunError(f"{path} record {n}: not a two_stage trace record ({type(exc).__name__}: {exc})") from None
    return out
