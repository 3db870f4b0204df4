"""Per-doc text of one run on one task: the sample lines and the two_stage traces beside them.

`load_run` (compare/runs.py) reads only the numbers; the pages also need the question, the gold
answer, each stage's prompt and output and the parsed sub-questions, so this module reads the
same files for their text. Everything is kept as strings and rendered with textContent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_ext import rundir
from harness_ext.records import TraceRecord
from harness_ext.study_record import CellCost

STAGES = rundir.STAGES
QUESTION_KEYS = ("question", "problem", "input", "query", "prompt")


@dataclass
class DocText:
    """One doc as one run saw it (every filter of the samples file folded in)."""

    doc: dict[str, Any]
    target: str
    raw: str  # the unfiltered model response lm-eval scored
    filtered: dict[str, str] = field(default_factory=dict)  # filter -> filtered response
    trace: TraceRecord | None = None
    trace_line: dict[str, Any] | None = None  # the trace as its JSONL line holds it (the doc page shows it)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1:
        return _text(value[0])
    return json.dumps(value, ensure_ascii=False)


def load_doc_texts(results_file: Path, task: str) -> dict[int, DocText]:
    """doc_id -> DocText from samples_<task>_<date>.jsonl and traces_<task>_<date>.jsonl."""
    samples = rundir.run_file(results_file, task, rundir.SAMPLES)
    texts: dict[int, DocText] = {}
    if samples.exists():
        for rec in rundir.read_jsonl(samples):
            if not (isinstance(rec, dict) and "doc_id" in rec):
                continue
            d = texts.get(rec["doc_id"])
            if d is None:
                doc = rec["doc"] if isinstance(rec.get("doc"), dict) else {}
                resps = rec.get("resps") or [[""]]
                d = texts[rec["doc_id"]] = DocText(doc, _text(rec.get("target", "")), _text(resps[0]))
            d.filtered[str(rec.get("filter", "none"))] = _text(rec.get("filtered_resps", ""))
    traces = rundir.run_file(results_file, task, rundir.TRACES)
    if traces.exists():
        for trace, line in rundir.read_trace_lines(traces):
            if trace.doc_id is not None:
                d = texts.setdefault(trace.doc_id, DocText({}, "", ""))
                d.trace, d.trace_line = trace, line
    return texts


def question_of(doc: dict[str, Any]) -> str:
    for key in QUESTION_KEYS:
        if isinstance(doc.get(key), str):
            return doc[key]
    return next((v for v in doc.values() if isinstance(v, str)), "")


def solver_output(d: DocText) -> str:
    """What the solver finally wrote: the dynamic mode's final call, else the solver call."""
    return d.trace.solver.output if d.trace is not None else d.raw


def subquestions(d: DocText) -> list[str]:
    return [str(s) for s in d.trace.subquestions] if d.trace is not None else []


def flags(d: DocText) -> list[str]:
    return [str(x) for x in d.trace.flags] if d.trace is not None else []


def truncated(d: DocText, stage: str) -> bool:
    """A stage hit max_gen_toks: its own `truncated` field, else a flag naming the stage."""
    if d.trace is None:
        return False
    view = d.trace.decomposer if stage == "decomposer" else d.trace.solver
    if view is not None:
        return bool(view.truncated)
    return any("trunc" in f and stage in f for f in flags(d))


def stage_number(d: DocText, stage: str, key: str) -> float:
    return rundir.stage_number(d.trace, stage, key) if d.trace is not None else 0.0


def trace_stats(texts: list[DocText], cost: CellCost | None) -> dict[str, Any]:
    """Decomposition rate, truncation rate, mean tokens and seconds per stage, cost per stage."""
    n = len(texts)
    traced = [d for d in texts if d.trace is not None]
    out: dict[str, Any] = {"n": n, "traced": len(traced)}
    if traced:
        k = len(traced)
        out["decomposed"] = sum(bool(subquestions(d)) for d in traced) / k
        out["mean_subq"] = sum(len(subquestions(d)) for d in traced) / k
        out["truncated"] = sum(any(truncated(d, s) for s in STAGES) for d in traced) / k
    for stage in STAGES:
        st: dict[str, Any] = {}
        if traced:
            for key in ("prompt_tokens", "completion_tokens", "seconds"):
                st[key] = sum(stage_number(d, stage, key) for d in traced) / len(traced)
            st["truncated"] = sum(truncated(d, stage) for d in traced) / len(traced)
        usd = cost.stages()[stage].usd if cost is not None and stage in cost.stages() else None
        st["usd"] = float(usd) if usd is not None else None
        out[stage] = st
    return out
