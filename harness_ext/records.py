"""Per-request trace records and the book that hands them to lm-eval's output writer.

Records are dataclasses inside the model; they become JSON only at the I/O edge
(:func:`write_traces`), one line per request in ``traces_<task>_<date>.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from harness_ext.io import write_jsonl_atomic

# Why a doc's record looks the way it does (the trace's "flags" list).
Flag = Literal["no_decomposition", "single_stage", "max_subquestions", "done_signal", "no_question", "truncated"]


@dataclass
class StageView:
    """One stage's call for one doc, as a trace shows it."""

    prompt: str
    output: str
    prompt_tokens: int | None
    completion_tokens: int | None
    seconds: float
    cached: bool
    token_source: str | None
    truncated: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageView:
        """The view inside a stage object (which may hold more keys: backend, totals, ...)."""
        known = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        return cls(**{"token_source": None, **known})


@dataclass
class CallTotals:
    """Sums over a doc's calls to one stage (dynamic mode makes several)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    calls: int = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallTotals:
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


@dataclass
class TraceRecord:
    task: str | None
    doc_id: int | None
    doc_hash: str
    mode: str
    subquestions: list[str]
    flags: list[Flag]
    decomposer: StageView | None  # None: a virtual decomposer (none / oracle) or dynamic totals
    decomposer_backend: str
    solver: StageView
    rounds: list[dict[str, Any]] | None = None  # dynamic mode only
    decomposer_totals: CallTotals | None = None  # dynamic mode only
    solver_totals: CallTotals | None = None  # dynamic mode only
    rank: int | None = None  # data-parallel runs: the rank that generated it
    replayed_from: str | None = None  # decomposer=replay: the traces file the decomposition came from

    def to_json(self) -> dict[str, Any]:
        """The JSONL shape, unchanged since the first release (readers rely on it)."""
        out: dict[str, Any] = {
            "task": self.task,
            "doc_id": self.doc_id,
            "doc_hash": self.doc_hash,
            "mode": self.mode,
            "subquestions": self.subquestions,
            "flags": self.flags,
        }
        solver = asdict(self.solver)
        if self.replayed_from is not None:  # the recorded view (if any), saying where it came from
            view = asdict(self.decomposer) if self.decomposer else {}
            out["decomposer"] = {"backend": self.decomposer_backend, **view, "replayed_from": self.replayed_from}
            out["solver"] = solver
        elif self.rounds is None:
            out["decomposer"] = asdict(self.decomposer) if self.decomposer else {"backend": self.decomposer_backend}
            out["solver"] = solver
        else:
            out["decomposer"] = {"backend": self.decomposer_backend, **asdict(self.decomposer_totals or CallTotals())}
            out["solver"] = {**solver, **asdict(self.solver_totals or CallTotals())}
            out["rounds"] = self.rounds
            out["final"] = solver
        if self.rank is not None:
            out["rank"] = self.rank
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TraceRecord:
        """A JSONL line back as a record: ``from_json(r.to_json()).to_json() == r.to_json()``.

        A model decomposer's view does not name its backend (the results file does): then
        ``decomposer_backend`` is ''.
        """
        dec = data.get("decomposer") or {}
        dynamic = data.get("rounds") is not None
        has_view = "prompt" in dec and not dynamic
        return cls(
            task=data.get("task"),
            doc_id=data.get("doc_id"),
            doc_hash=data["doc_hash"],
            mode=data.get("mode", "static"),
            subquestions=list(data.get("subquestions") or []),
            flags=list(data.get("flags") or []),
            decomposer=StageView.from_json(dec) if has_view else None,
            decomposer_backend=str(dec.get("backend", "")),
            solver=StageView.from_json(data["final"] if dynamic else data["solver"]),
            rounds=data["rounds"] if dynamic else None,
            decomposer_totals=CallTotals.from_json(dec) if dynamic else None,
            solver_totals=CallTotals.from_json(data["solver"]) if dynamic else None,
            rank=data.get("rank"),
            replayed_from=dec.get("replayed_from"),
        )


@dataclass
class TraceBook:
    """A two_stage run's traces by task, plus what the results file says about the model.

    The model hands it to lm-eval's writer through ``get_model_info()`` (see lmeval/tracker.py).
    """

    label: str
    describe: dict[str, Any]
    by_task: dict[str, list[TraceRecord]] = field(default_factory=dict)  # this process's own
    merged: dict[str, list[TraceRecord]] | None = None  # data parallel: every rank's, on rank 0
    # lm-eval's marked chat context -> the text the solver scored (its own chat template), for
    # requests without a trace (loglikelihood): what the samples file shows
    solver_texts: dict[str, str] = field(default_factory=dict)

    def add(self, record: TraceRecord) -> None:
        self.by_task.setdefault(record.task or "", []).append(record)

    def records(self, task: str) -> list[dict[str, Any]]:
        source = self.merged if self.merged is not None else self.by_task
        return [r.to_json() for r in source.get(task, [])]

    def __repr__(self) -> str:  # lm-eval prints the results config; keep it short
        return f"TraceBook({self.label!r}, {sum(map(len, self.by_task.values()))} records)"


def merge_ranks(per_rank: list[dict[str, list[TraceRecord]]]) -> dict[str, list[TraceRecord]]:
    """Each rank's traces -> one set by task, in doc order, each record tagged with its rank.

    lm-eval pads a short rank with copies of its last request; those copies (same doc id and
    hash) are dropped, keeping the first record of each doc.
    """
    merged: dict[str, dict[tuple, TraceRecord]] = {}
    for rank, by_task in enumerate(per_rank):
        for task, records in by_task.items():
            seen = merged.setdefault(task, {})
            for rec in records:
                key = (rec.doc_id, rec.doc_hash)
                if key not in seen:
                    seen[key] = replace(rec, rank=rank)
    return {
        task: sorted(recs.values(), key=lambda r: (r.doc_id is None, r.doc_id or 0)) for task, recs in merged.items()
    }


def write_traces(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    return write_jsonl_atomic(path, records)


REPO_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def portable(value: Any) -> Any:
    """Paths under the repo become relative and the home directory becomes ``~``, so a results
    file says the same on every machine (lm-eval records absolute config and model paths)."""
    if isinstance(value, str):
        return value.replace(REPO_ROOT, "").replace(str(Path.home()) + "/", "~/")
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, type) or callable(value):
        # A class or function in a task config (the few-shot sampler) is written as its str(),
        # as lm-eval's JSON encoder would, and that string names its file's path.
        return portable(str(value))
    return value


def without_seconds(value: Any) -> Any:
    """A trace (or any JSON value) without its timings: the only field two runs of the same work
    may differ in (streamed vs barrier runs, reruns); used to compare them."""
    if isinstance(value, dict):
        return {k: without_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [without_seconds(v) for v in value]
    return value
