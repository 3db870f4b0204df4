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

from harness_ext.errors import DQError

STAGES = ("decomposer", "solver")
QUESTION_KEYS = ("question", "problem", "input", "query", "prompt")


@dataclass
class DocText:
    """One doc as one run saw it (every filter of the samples file folded in)."""

    doc: dict[str, Any]
    target: str
    raw: str  # the unfiltered model response lm-eval scored
    filtered: dict[str, str] = field(default_factory=dict)  # filter -> filtered response
    trace: dict[str, Any] | None = None


def _date(results_file: Path) -> str:
    return results_file.stem[len("results_") :]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1:
        return _text(value[0])
    return json.dumps(value, ensure_ascii=False)


def _lines(path: Path) -> list[dict]:
    out = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise DQError(f"{path}:{lineno}: invalid JSON; the run was interrupted? rerun it") from None
        if isinstance(rec, dict) and "doc_id" in rec:
            out.append(rec)
    return out


def load_doc_texts(results_file: Path, task: str) -> dict[int, DocText]:
    """doc_id -> DocText from samples_<task>_<date>.jsonl and traces_<task>_<date>.jsonl."""
    date = _date(results_file)
    samples = results_file.parent / f"samples_{task}_{date}.jsonl"
    texts: dict[int, DocText] = {}
    if samples.exists():
        for rec in _lines(samples):
            d = texts.get(rec["doc_id"])
            if d is None:
                doc = rec["doc"] if isinstance(rec.get("doc"), dict) else {}
                resps = rec.get("resps") or [[""]]
                d = texts[rec["doc_id"]] = DocText(doc, _text(rec.get("target", "")), _text(resps[0]))
            d.filtered[str(rec.get("filter", "none"))] = _text(rec.get("filtered_resps", ""))
    traces = results_file.parent / f"traces_{task}_{date}.jsonl"
    if traces.exists():
        for rec in _lines(traces):
            d = texts.setdefault(rec["doc_id"], DocText({}, "", ""))
            d.trace = rec
    return texts


def question_of(doc: dict[str, Any]) -> str:
    for key in QUESTION_KEYS:
        if isinstance(doc.get(key), str):
            return doc[key]
    return next((v for v in doc.values() if isinstance(v, str)), "")


def solver_output(d: DocText) -> str:
    """What the solver finally wrote: the dynamic mode's final call, else the solver call."""
    t = d.trace or {}
    for key in ("final", "solver"):
        stage = t.get(key)
        if isinstance(stage, dict) and isinstance(stage.get("output"), str):
            return stage["output"]
    return d.raw


def subquestions(d: DocText) -> list[str]:
    subq = (d.trace or {}).get("subquestions") or []
    return [str(s) for s in subq] if isinstance(subq, list) else []


def flags(d: DocText) -> list[str]:
    f = (d.trace or {}).get("flags") or []
    return [str(x) for x in f] if isinstance(f, list) else [str(f)]


def truncated(d: DocText, stage: str) -> bool:
    """A stage hit max_gen_toks: its own `truncated` field, else a flag naming the stage."""
    obj = (d.trace or {}).get(stage)
    if isinstance(obj, dict) and "truncated" in obj:
        return bool(obj["truncated"])
    return any("trunc" in f and stage in f for f in flags(d))


def stage_number(d: DocText, stage: str, key: str) -> float:
    obj = (d.trace or {}).get(stage)
    value = obj.get(key) if isinstance(obj, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def trace_stats(texts: list[DocText], cost: dict[str, Any] | None) -> dict[str, Any]:
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
        usd = ((cost or {}).get(stage) or {}).get("usd")
        st["usd"] = float(usd) if isinstance(usd, (int, float)) else None
        out[stage] = st
    return out
