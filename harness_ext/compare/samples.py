"""Parse lm-eval `samples_<task>_<date>.jsonl` (and dq's `traces_<task>_<date>.jsonl`).

Per-doc metric values are numbers, or pairs of numbers for lm-eval's weighted aggregations
(word/byte perplexity: (log-likelihood, weight)). A `null` is an error naming the doc and file;
strings and other lists (corpus-level F1, BLEU items) are skipped with a note.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness_ext.rundir import RunError, read_jsonl

__all__ = ["RunError", "TaskSamples", "Truncation", "load_samples", "load_truncation"]


@dataclass
class TaskSamples:
    """Per-doc metric values of one (task, filter) from one run."""

    task: str
    filter: str
    doc_ids: list[int]
    doc_hashes: list[str]
    metrics: dict[str, np.ndarray]  # (n,) or (n, 2)
    clusters: list | None = None
    path: Path | None = None


@dataclass
class Truncation:
    """Share of a task's solver calls stopped by max_gen_toks (dq traces' solver.truncated)."""

    truncated: int
    known: int  # records that carry the field
    records: int

    @property
    def rate(self) -> float | None:
        # Unknown unless every record says: a missing field is not a "no".
        return self.truncated / self.known if self.records and self.known == self.records else None


def _number(value: object, where: str, metric: str) -> float:
    if isinstance(value, bool):
        return float(value)
    if not math.isfinite(value):  # type: ignore[arg-type]
        raise RunError(f"{where}: metric {metric!r} is {value} (not a finite number)")
    return float(value)  # type: ignore[arg-type]


def _metric_value(value: object, where: str, metric: str, doc_id: object) -> float | tuple | None:
    """A float, a (value, weight) pair, or None for items dq compare cannot resample."""
    if value is None:
        raise RunError(f"{where}: metric {metric!r} is null for doc_id {doc_id}; rerun or fix that doc")
    if isinstance(value, (bool, int, float)):
        return _number(value, where, metric)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return (_number(value[0], where, metric), _number(value[1], where, metric))
    return None


_DECODER = json.JSONDecoder()
_HEAD = '{"doc_id": '


def _parse_fast(line: str) -> dict | None:
    """Parse only the fields dq compare needs from an lm-eval sample line.

    The prompt ("arguments") and responses are most of each line but unused
    here. lm-eval writes keys in a fixed order with json.dumps defaults, and
    `, "filter": ` cannot occur inside a JSON string (quotes are escaped), so
    the tail from the top-level "filter" key on is a small, complete object.
    Anything unexpected returns None and the caller does a full parse.
    """
    cut = line.rfind(', "filter": ')
    if not line.startswith(_HEAD) or cut < 0 or not line.endswith("}"):
        return None
    try:
        rec = json.loads("{" + line[cut + 2 :])
        rec["doc_id"], end = _DECODER.raw_decode(line, len(_HEAD))
        if line.startswith(', "doc": ', end):
            rec["doc"] = _DECODER.raw_decode(line, end + 9)[0]
    except ValueError:
        return None
    return rec if "metrics" in rec else None


def _parse_line(line: str, where: str) -> dict:
    if not line.strip():
        raise RunError(f"{where}: empty line in samples file")
    rec = _parse_fast(line)
    if rec is not None:
        return rec
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RunError(f"{where}: truncated or invalid JSON ({exc.msg})") from None
    if not isinstance(rec, dict) or "doc_id" not in rec or "metrics" not in rec:
        raise RunError(f"{where}: not an lm-eval sample record (needs doc_id and metrics)")
    return rec


def load_samples(task: str, path: Path) -> tuple[dict[tuple[str, str], TaskSamples], list[str]]:
    """Parse one samples_*.jsonl into TaskSamples keyed by (task, filter)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline is not an empty record
    if not lines:
        raise RunError(f"{path}: samples file is empty")
    rows: dict[str, list[dict]] = {}
    for lineno, line in enumerate(lines, 1):
        rec = _parse_line(line, f"{path}:{lineno}")
        rec["_where"] = f"{path}:{lineno}"
        rows.setdefault(str(rec.get("filter", "none")), []).append(rec)
    out, notes = {}, []
    for flt, recs in rows.items():
        ts, skipped = _task_samples(task, flt, recs)
        ts.path = path
        out[(task, flt)] = ts
        notes += [f"{task}: metric {m!r} is not per-doc numeric (corpus-level items); skipped" for m in skipped]
    return out, notes


def _task_samples(task: str, flt: str, recs: list[dict]) -> tuple[TaskSamples, list[str]]:
    names = list(dict.fromkeys(m for r in recs for m in r["metrics"]))
    values: dict[str, list] = {m: [] for m in names}
    skipped: set[str] = set()
    seen: set[int] = set()
    for r in recs:
        if r["doc_id"] in seen:
            raise RunError(f"{r['_where']}: duplicate doc_id {r['doc_id']} (filter {flt})")
        seen.add(r["doc_id"])
        for m in names:
            if m not in r:
                raise RunError(f"{r['_where']}: metric {m!r} missing for doc_id {r['doc_id']}")
            v = _metric_value(r[m], r["_where"], m, r["doc_id"])
            if v is None:
                skipped.add(m)
            values[m].append(v if v is not None else 0.0)
    metrics = {}
    for m, vals in values.items():
        if m in skipped:
            continue
        shapes = {isinstance(x, tuple) for x in vals}
        if len(shapes) > 1:
            skipped.add(m)  # numbers for some docs, pairs for others: not one lm-eval item type
            continue
        metrics[m] = np.asarray(vals, dtype=float)
    docs: list[dict] = [r["doc"] if isinstance(r.get("doc"), dict) else {} for r in recs]
    clusters = [d.get("cluster_id") for d in docs]
    has_clusters = all(c is not None for c in clusters)
    ts = TaskSamples(
        task=task,
        filter=flt,
        doc_ids=[r["doc_id"] for r in recs],
        doc_hashes=[str(r.get("doc_hash", "")) for r in recs],
        metrics=metrics,
        clusters=clusters if has_clusters else None,
    )
    return ts, sorted(skipped)


def load_truncation(path: Path) -> Truncation:
    """Count solver.truncated in a traces_*.jsonl (one record per request).

    Read as JSON objects, not TraceRecords: a record from before the field existed does not
    say, and TraceRecord would read it as "not truncated".
    """
    truncated = known = records = 0
    for rec in read_jsonl(path):
        records += 1
        solver = rec.get("solver") if isinstance(rec, dict) else None
        flag = solver.get("truncated") if isinstance(solver, dict) else None
        if isinstance(flag, bool):
            known += 1
            truncated += flag
    return Truncation(truncated, known, records)
