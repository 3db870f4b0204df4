"""Two_stage run on disk (results + samples + traces) -> chat-format SFT rows.

Variants (the paper's names): ``sd-t`` every teacher decomposition; ``sd-r`` only those whose
two-stage answer was correct (or correct in a ``--fallback-run``); ``se-t`` the teacher
solver's full solution; ``se-a`` that solution with its final answer replaced by the gold one;
``se-g`` the doc's gold step-by-step solution (synthetic tasks) under the run's solve prompt.

The user turn is the *raw* stage prompt re-rendered from the doc with the run's prompt set, not
the traced prompt: traces hold the prompt as sent (chat template applied), and the trainer
applies the student's own template.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from dq_tasks.constants import DEFAULT_CAP
from dq_tasks.extract import MARKER
from dq_tasks.prompting import Kind, doc_variables, get_prompt_set
from dq_tasks.synth import gold_solution
from harness_ext import rundir
from harness_ext.errors import DQError
from harness_ext.io import write_jsonl_atomic
from harness_ext.records import TraceRecord

# The paper's S_D-T, S_D-R, S_E-T, S_E-A; se-g is S_E-T with the gold step-by-step solution as
# the teacher (synthetic tasks, whose docs carry every step).
Variant = Literal["sd-t", "sd-r", "se-t", "se-a", "se-g"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
NO_DECOMPOSITION = "No decomposition"

# Per-doc metrics that say "correct" when they reach the threshold, most specific first.
CORRECTNESS_METRICS = ("exact_match", "acc", "em", "f1")
# Same marker the scorers read (dq_tasks/scoring.py): the last one wins.


@dataclass
class DocRecord:
    """One doc of one task in a run: lm-eval's sample joined with our trace."""

    task: str
    doc_id: int
    doc_hash: str
    doc: dict
    target: str
    metrics: dict[str, float]
    trace: TraceRecord


@dataclass
class TeacherRun:
    path: Path  # results_*.json
    config: dict[str, Any]  # results["config"]["dq"]: both stage specs, prompts, cap
    docs: dict[str, dict[int, DocRecord]] = field(default_factory=dict)  # task -> doc_id -> rec

    @property
    def label(self) -> str:
        return str(self.config.get("label") or self.path.parent.name)


# --------------------------------------------------------------------------- reading runs
def _results_file(run: str | Path) -> Path:
    try:
        return rundir.find_results_file(run)[0]
    except rundir.RunError as exc:
        raise DQError(f"--run: {exc}") from None


def _samples_by_doc(path: Path) -> dict[int, dict]:
    by_doc: dict[int, dict] = {}
    for rec in rundir.read_jsonl(path):
        # Several filters give several records per doc; strict-match is the answer (older runs: none).
        if rec["doc_id"] not in by_doc or rec.get("filter") in ("strict-match", "none"):
            by_doc[rec["doc_id"]] = rec
    return by_doc


def _metrics(sample: dict) -> dict[str, float]:
    names = sample.get("metrics") or [k for k in CORRECTNESS_METRICS if k in sample]
    return {m: float(sample[m]) for m in names if isinstance(sample.get(m), (int, float, bool))}


def load_teacher_run(run: str | Path) -> TeacherRun:
    """Read a two_stage run written with ``--log_samples``; every task needs samples and traces."""
    results_file = _results_file(run)
    results = rundir.read_json(results_file)
    dq = (results.get("config") or {}).get("dq")
    if not isinstance(dq, dict):
        raise DQError(
            f"{results_file}: not a two_stage run (its config has no 'dq' block); "
            "export needs `dq eval --model two_stage ... --log_samples`"
        )
    if dq.get("mode", "static") != "static":
        raise DQError(
            f"{results_file}: mode={dq.get('mode')} runs have no single decomposition to distill; "
            "use a static two_stage run"
        )
    date = rundir.date_of(results_file)
    samples = rundir.run_files(results_file, rundir.SAMPLES)
    if not samples:
        raise DQError(f"{results_file.parent}: no samples_*_{date}.jsonl; rerun the eval with --log_samples")
    out = TeacherRun(results_file, dq)
    for task, sample_file in sorted(samples.items()):
        trace_file = rundir.run_file(results_file, task, rundir.TRACES)
        if not trace_file.is_file():
            raise DQError(
                f"{results_file.parent}: samples for task {task!r} but no {trace_file.name}; "
                "traces are written by the two_stage model (rerun with --model two_stage --log_samples)"
            )
        out.docs[task] = _join(task, _samples_by_doc(sample_file), rundir.read_traces(trace_file), trace_file)
    return out


def _join(task: str, samples: dict[int, dict], traces: list[TraceRecord], where: Path) -> dict[int, DocRecord]:
    docs: dict[int, DocRecord] = {}
    for trace in traces:
        sample = samples.get(trace.doc_id) if trace.doc_id is not None else None
        if trace.doc_id is None or sample is None:
            raise DQError(f"{where}: doc_id {trace.doc_id} has a trace but no sample")
        if sample.get("doc_hash") and sample["doc_hash"] != trace.doc_hash:
            raise DQError(
                f"{where}: doc_id {trace.doc_id}: trace and sample doc_hash differ (files from different runs?)"
            )
        target = sample.get("target")
        docs[trace.doc_id] = DocRecord(
            task,
            trace.doc_id,
            str(sample.get("doc_hash", "")),
            sample["doc"],
            str(target[0] if isinstance(target, list) else target),
            _metrics(sample),
            trace,
        )
    return docs


# --------------------------------------------------------------------------- correctness
def correctness_metric(rec: DocRecord, wanted: str | None) -> str:
    if wanted:
        if wanted not in rec.metrics:
            raise DQError(f"task {rec.task!r} has no per-doc metric {wanted!r} (has {sorted(rec.metrics)})")
        return wanted
    for name in CORRECTNESS_METRICS:
        if name in rec.metrics:
            return name
    raise DQError(f"task {rec.task!r}: no correctness metric among {sorted(rec.metrics)}; pass --metric")


def is_correct(rec: DocRecord | None, metric: str | None, threshold: float) -> bool:
    return rec is not None and rec.metrics.get(correctness_metric(rec, metric), 0.0) >= threshold


# --------------------------------------------------------------------------- targets
def numbered(subquestions: list[str]) -> str:
    """The decompose template asks for one sub-question per line; numbering matches the
    solve template's and parse_subquestions strips it again."""
    if not subquestions:
        return NO_DECOMPOSITION
    return "\n".join(f"{i}. {q}" for i, q in enumerate(subquestions, 1))


def replace_final_answer(solution: str, gold: str) -> str:
    """Swap the text after the last "The answer is" (to the end of its line) for ``gold``;
    everything before it is untouched. No marker: append one, as the solve prompt asks."""
    matches = list(MARKER.finditer(solution))  # the scorer's own marker (dq_tasks/extract.py)
    if not matches:
        return f"{solution.rstrip()}\nThe answer is: {gold}"
    last = matches[-1]
    marker = last.group(0).rstrip()
    marker = marker if marker.endswith(":") else marker + ":"
    line_end = solution.find("\n", last.end())
    rest = "" if line_end < 0 else solution[line_end:]
    return f"{solution[: last.start()]}{marker} {gold}{rest}"


# --------------------------------------------------------------------------- prompts
def _cap(config: dict, doc: dict) -> int:
    return int(config.get("max_subquestions") or doc.get("max_subquestions") or DEFAULT_CAP)


def stage_prompt(config: dict, rec: DocRecord, kind: Kind, subquestions: list[str] | None = None) -> str:
    """The stage prompt the two_stage model renders for this doc, before any chat template."""
    if "question" not in rec.doc:
        raise DQError(f"task {rec.task!r} doc {rec.doc_id} has no 'question' field; only dq_tasks docs can be exported")
    prompts = get_prompt_set(str(config.get("prompts") or "default"))
    variables = doc_variables(
        rec.doc, question=rec.doc["question"], max_subquestions=_cap(config, rec.doc), subquestions=subquestions or []
    )
    return prompts.render(rec.task, kind, **variables)


def _solver_prompt(config: dict, rec: DocRecord) -> str:
    subquestions = rec.trace.subquestions
    if subquestions:
        return stage_prompt(config, rec, "solve", subquestions)
    # No sub-questions: the solver saw the single-stage prompt (or cot with baseline=cot).
    return stage_prompt(config, rec, "cot" if config.get("baseline") == "cot" else "single")


def _row(rec: DocRecord, variant: str, teacher: str, user: str, assistant: str) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        "doc_id": rec.doc_id,
        "task": rec.task,
        "doc_hash": rec.doc_hash,
        "question": rec.doc.get("question", ""),
        "variant": variant,
        "teacher": teacher,
    }


# --------------------------------------------------------------------------- export
@dataclass
class ExportStats:
    docs: int = 0
    rows: int = 0
    from_fallback: int = 0
    dropped_incorrect: int = 0
    no_decomposition: int = 0


def build_rows(
    run: TeacherRun,
    variant: str,
    fallback: TeacherRun | None = None,
    metric: str | None = None,
    threshold: float = 1.0,
    tasks: Iterable[str] | None = None,
) -> tuple[list[dict], ExportStats]:
    if variant not in VARIANTS:
        raise DQError(f"unknown variant {variant!r}; use one of {', '.join(VARIANTS)}")
    wanted = set(tasks or run.docs)
    missing = wanted - set(run.docs)
    if missing:
        raise DQError(f"--task {sorted(missing)} not in the run (it has {sorted(run.docs)})")
    rows, stats = [], ExportStats()
    for task in sorted(wanted):
        for _doc_id, rec in sorted(run.docs[task].items()):
            stats.docs += 1
            row = _doc_row(run, rec, variant, fallback, metric, threshold, stats)
            if row is not None:
                rows.append(row)
    stats.rows = len(rows)
    return rows, stats


def _fallback_record(fallback: TeacherRun | None, rec: DocRecord) -> DocRecord | None:
    """The same doc in the second run, matched by doc_hash (doc ids shift with --limit)."""
    if fallback is None:
        return None
    for other in fallback.docs.get(rec.task, {}).values():
        if other.doc_hash == rec.doc_hash:
            return other
    return None


def _doc_row(
    run: TeacherRun,
    rec: DocRecord,
    variant: str,
    fallback: TeacherRun | None,
    metric: str | None,
    threshold: float,
    stats: ExportStats,
) -> dict | None:
    source, teacher = rec, run
    if variant == "sd-r" and not is_correct(rec, metric, threshold):
        other = _fallback_record(fallback, rec)
        if not is_correct(other, metric, threshold):
            stats.dropped_incorrect += 1
            return None
        # Keep the decomposition that led to the correct answer: the fallback run's.
        assert other is not None and fallback is not None  # is_correct(None) is False
        source, teacher = other, fallback
        stats.from_fallback += 1
    if variant in ("sd-t", "sd-r"):
        subquestions = list(source.trace.subquestions)
        stats.no_decomposition += not subquestions
        return _row(rec, variant, teacher.label, stage_prompt(teacher.config, rec, "decompose"), numbered(subquestions))
    if variant == "se-g":
        return _row(rec, variant, "gold", _solver_prompt(run.config, rec), _gold_solution(rec))
    solution = (rec.trace.solver.output or "").strip()
    if variant == "se-a":
        solution = replace_final_answer(solution, rec.target)
    return _row(rec, variant, run.label, _solver_prompt(run.config, rec), solution)


def _gold_solution(rec: DocRecord) -> str:
    solution = gold_solution(rec.doc)
    if solution is None:
        raise DQError(
            f"--variant se-g: task {rec.task!r} doc {rec.doc_id} has no gold step-by-step solution "
            "(only the dq_synth tasks carry one); use se-t or se-a"
        )
    return solution


def write_jsonl(path: str | Path, rows: list[dict]) -> Path:
    """Atomic: a temp file in the same directory, renamed over the target when complete."""
    return write_jsonl_atomic(path, rows)


def export(
    run: str | Path,
    variant: str,
    out: str | Path,
    fallback_run: str | Path | None = None,
    metric: str | None = None,
    threshold: float = 1.0,
    tasks: Iterable[str] | None = None,
) -> ExportStats:
    teacher = load_teacher_run(run)
    fallback = load_teacher_run(fallback_run) if fallback_run else None
    if fallback is not None and variant != "sd-r":
        raise DQError("--fallback-run only applies to --variant sd-r (rejection sampling)")
    rows, stats = build_rows(teacher, variant, fallback, metric, threshold, tasks)
    if not rows:
        raise DQError(
            f"variant {variant} kept no rows out of {stats.docs} docs "
            f"({stats.dropped_incorrect} answered incorrectly); nothing to write"
        )
    write_jsonl(out, rows)
    return stats


def read_rows(path: str | Path) -> list[dict]:
    """SFT rows as written by export (or by hand: only ``messages`` is required)."""
    path = Path(path)
    if not path.is_file():
        raise DQError(f"--data {path}: no such file")
    rows = rundir.read_jsonl(path)
    for n, row in enumerate(rows, 1):
        msgs = row.get("messages") if isinstance(row, dict) else None
        if not (
            isinstance(msgs, list)
            and len(msgs) >= 2
            and msgs[-1].get("role") == "assistant"
            and all(isinstance(m.get("content"), str) for m in msgs)
        ):
            raise DQError(f"{path}:{n}: a row needs 'messages' ending with an assistant turn")
    if not rows:
        raise DQError(f"--data {path}: no rows")
    return rows
