"""Per-task files the pages load lazily, so the leaderboard opens without reading any doc text.

For task t (index in the site's task list):
- ``task_t``: doc ids, questions, gold answers and every run's per-doc metric values (pair view);
- ``task_t_run_r``: run r's sub-questions, solver output and filtered answers (pair view, two at a time);
- ``task_t_docs_k``: the full traces of docs in chunk k across all runs (doc view).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness_ext.io import clean
from harness_ext.view import docs as D
from harness_ext.view.data import Collection, ViewRun

CHUNK = 25  # docs per doc-view file: one file holds every run's full traces for these docs
MAX_OUTPUT = 4000  # characters of solver output in the pair view; the doc view shows all of it


@dataclass
class Payload:
    key: str  # the name the page asks for; also the file name under data/
    data: dict[str, Any]


def _values(run: ViewRun, task: str, doc_ids: list[int]) -> dict[str, list[float | None]]:
    """'metric|filter' -> per-doc values in the task's doc order (None where the run lacks the doc)."""
    out = {}
    for (tk, flt), ts in run.loaded[task].samples.items():
        if tk != task:
            continue
        pos = {d: i for i, d in enumerate(ts.doc_ids)}
        for metric, values in ts.metrics.items():
            out[f"{metric}|{flt}"] = [float(values[pos[d]]) if d in pos else None for d in doc_ids]
    return out


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"\n… [{len(text) - limit} more characters in the doc view]"


def _run_payload(texts: dict[int, D.DocText], doc_ids: list[int], filters: list[str]) -> dict[str, Any]:
    empty = D.DocText({}, "", "")
    rows = [texts.get(d, empty) for d in doc_ids]
    return {
        "subq": [D.subquestions(x) for x in rows],
        "output": [_clip(D.solver_output(x), MAX_OUTPUT) for x in rows],
        "answer": {f: [x.filtered.get(f) for x in rows] for f in filters},
        "flags": [D.flags(x) for x in rows],
        "has": [d in texts for d in doc_ids],
    }


def _doc_entry(doc_id: int, runs: list[ViewRun], texts: dict[int, dict[int, D.DocText]]) -> dict[str, Any]:
    first = next(t[doc_id] for t in texts.values() if doc_id in t)
    per_run = {}
    for r in runs:
        x = texts[r.id].get(doc_id)
        if x is not None:
            per_run[str(r.id)] = {"raw": x.raw, "filtered": x.filtered, "trace": x.trace_line}
    return {"doc_id": doc_id, "doc": first.doc, "target": first.target, "runs": per_run}


def task_payloads(col: Collection, t: int, task: str, stats: dict[tuple[int, str], dict]) -> Iterator[Payload]:
    """Every file for one task; fills stats[(run id, task)] with the run's trace statistics."""
    runs = col.runs_for(task)
    texts = {r.id: D.load_doc_texts(r.loaded[task].path, task) for r in runs}
    doc_ids = sorted(
        {d for r in runs for (tk, _f), ts in r.loaded[task].samples.items() if tk == task for d in ts.doc_ids}
    )
    filters = sorted({f for r in runs for (tk, f) in r.loaded[task].samples if tk == task})
    firsts = [next((tx[d] for tx in texts.values() if d in tx), D.DocText({}, "", "")) for d in doc_ids]
    yield Payload(
        f"task_{t}",
        clean(
            {
                "task": task,
                "chunk": CHUNK,
                "doc_ids": doc_ids,
                "question": [D.question_of(x.doc) for x in firsts],
                "gold": [x.target for x in firsts],
                "values": {str(r.id): _values(r, task, doc_ids) for r in runs},
            }
        ),
    )
    for r in runs:
        stats[(r.id, task)] = D.trace_stats(list(texts[r.id].values()), r.cost.get(task))
        yield Payload(f"task_{t}_run_{r.id}", clean(_run_payload(texts[r.id], doc_ids, filters)))
    for k in range(0, len(doc_ids), CHUNK):
        chunk = doc_ids[k : k + CHUNK]
        entries = {str(d): _doc_entry(d, runs, texts) for d in chunk if any(d in tx for tx in texts.values())}
        yield Payload(f"task_{t}_docs_{k // CHUNK}", clean({"docs": entries}))
