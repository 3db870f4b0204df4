"""Load lm-eval output directories (written with --log_samples) and align them.

lm-eval writes `OUT/<model_name_sanitized>/results_<date>.json` plus one
`samples_<task>_<date>.jsonl` per task. A RUN argument may be OUT, the model
subdirectory, or the results file itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness_ext import rundir
from harness_ext.compare import checks
from harness_ext.compare.aggregate import MEAN, Aggregation
from harness_ext.compare.samples import RunError, TaskSamples, Truncation, load_samples, load_truncation

GroupKey = tuple[str, str, str]  # (task, metric, filter)
__all__ = ["RunError", "TaskSamples", "Run", "MetricGroup", "load_run", "align_runs"]


@dataclass
class Run:
    path: Path  # results_*.json
    label: str
    model: str
    model_args: dict
    decomposer: str | None  # two_stage sides, None for other models
    solver: str | None
    samples: dict[tuple[str, str], TaskSamples]
    higher_is_better: dict[str, dict[str, bool]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    aggregations: dict[tuple[str, str], Aggregation | str] = field(default_factory=dict)  # str: why left out
    truncation: dict[str, Truncation] = field(default_factory=dict)
    dq: dict = field(default_factory=dict)  # the results config's "dq" block (two_stage runs)


@dataclass
class MetricGroup:
    """One (task, metric, filter) aligned across runs: values[r, i] for doc i."""

    task: str
    metric: str
    filter: str
    doc_ids: list[int]
    values: np.ndarray  # (runs, n), or (runs, n, 2) for (log-likelihood, weight) items
    clusters: np.ndarray | None
    binary: bool
    higher_is_better: bool | None = None
    aggregation: Aggregation = MEAN

    @property
    def key(self) -> GroupKey:
        return (self.task, self.metric, self.filter)


# --------------------------------------------------------------------------
# Locating files: harness_ext.rundir
# --------------------------------------------------------------------------


def _samples_files(results_file: Path, kind: str = rundir.SAMPLES) -> dict[str, Path]:
    """Map task name -> samples (or dq traces) file with the same date suffix."""
    files = rundir.run_files(results_file, kind)
    if not files and kind == rundir.SAMPLES:
        suffix = f"_{rundir.date_of(results_file)}.jsonl"
        raise RunError(f"{results_file}: no samples_*{suffix} files next to it; rerun lm-eval with --log_samples")
    return files


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------


def parse_model_args(model_args: str | dict | None) -> dict:
    """lm-eval model_args are `k=v,k2=v2` strings or already dicts."""
    if not model_args:
        return {}
    if isinstance(model_args, dict):
        return {str(k): v for k, v in model_args.items()}
    out = {}
    for part in str(model_args).split(","):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _basename(name: object) -> str:
    return str(name).rstrip("/").split("/")[-1] or str(name)


def _side(args: dict, side: str) -> str:
    """Readable name of one two_stage side: model basename, else backend."""
    for key in (f"{side}.pretrained", f"{side}.model", f"{side}_pretrained"):
        if args.get(key):
            return _basename(args[key])
    nested = args.get(side)
    if isinstance(nested, dict):
        for key in ("pretrained", "model", "backend"):
            if nested.get(key):
                return _basename(nested[key])
    return str(nested) if nested else "?"


def two_stage_sides(config: dict) -> tuple[str, str] | None:
    if config.get("model") != "two_stage":
        return None
    args = parse_model_args(config.get("model_args"))
    return _side(args, "decomposer"), _side(args, "solver")


def default_label(results: dict) -> str:
    """Readable run label from an lm-eval results JSON."""
    config = results.get("config") or {}
    dq = config.get("dq") if isinstance(config.get("dq"), dict) else None
    if dq and dq.get("label"):
        return str(dq["label"])
    sides = two_stage_sides(config)
    if sides:
        return f"{sides[0]}/{sides[1]}"
    args = parse_model_args(config.get("model_args"))
    for key in ("pretrained", "model", "model_name"):
        if args.get(key):
            return _basename(args[key])
    return str(config.get("model") or results.get("model_name") or "run")


def dedupe_labels(labels: list[str]) -> list[str]:
    """Make labels unique: the second 'x' becomes 'x#2', and so on."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}#{seen[label]}")
    return out


def load_run(path: str | Path, label: str | None = None) -> Run:
    results_file, notes = rundir.find_results_file(path)
    results = rundir.read_json(results_file)
    samples: dict[tuple[str, str], TaskSamples] = {}
    aggregations: dict[tuple[str, str], Aggregation | str] = {}
    for task, f in _samples_files(results_file).items():
        s, n = load_samples(task, f)
        samples.update(s)
        notes += n
        aggregations.update(checks.check_task(results, results_file, task, s))
    truncation = {t: load_truncation(f) for t, f in rundir.run_files(results_file, rundir.TRACES).items()}
    config = results.get("config") or {}
    sides = two_stage_sides(config)
    return Run(
        path=results_file,
        label=label or default_label(results),
        model=str(config.get("model", "")),
        model_args=parse_model_args(config.get("model_args")),
        decomposer=sides[0] if sides else None,
        solver=sides[1] if sides else None,
        samples=samples,
        higher_is_better=results.get("higher_is_better") or {},
        notes=notes,
        aggregations=aggregations,
        truncation=truncation,
        dq=config["dq"] if isinstance(config.get("dq"), dict) else {},
    )


# --------------------------------------------------------------------------
# Alignment
# --------------------------------------------------------------------------


def _doc_index(ts: TaskSamples) -> dict[int, tuple[int, str]]:
    return {d: (i, h) for i, (d, h) in enumerate(zip(ts.doc_ids, ts.doc_hashes))}


def _common_docs(runs: list[Run], key: tuple[str, str], intersect: bool) -> list[int]:
    """Doc ids usable for (task, filter); raise on a mismatch unless intersecting."""
    idx = [_doc_index(r.samples[key]) for r in runs]
    ref = idx[0]
    common = set(ref)
    for run, other in zip(runs[1:], idx[1:]):
        same_hash = {d for d in set(ref) & set(other) if ref[d][1] == other[d][1]}
        if not intersect and (len(other) != len(ref) or len(same_hash) != len(ref)):
            raise RunError(_mismatch_message(key, runs[0], run, ref, other))
        common &= same_hash
    if not common:
        raise RunError(f"task {key[0]} (filter {key[1]}): the runs share no documents")
    return sorted(common)


def _mismatch_message(key, run_a: Run, run_b: Run, ref: dict, other: dict) -> str:
    only_a = sorted(set(ref) - set(other))[:5]
    only_b = sorted(set(other) - set(ref))[:5]
    changed = sorted(d for d in set(ref) & set(other) if ref[d][1] != other[d][1])[:5]
    parts = [f"{run_a.label}: {len(ref)} docs, {run_b.label}: {len(other)} docs"]
    if only_a:
        parts.append(f"only in {run_a.label}: doc_id {only_a}")
    if only_b:
        parts.append(f"only in {run_b.label}: doc_id {only_b}")
    if changed:
        parts.append(f"doc_hash differs (other task version?) at doc_id {changed}")
    return (
        f"task {key[0]} (filter {key[1]}): runs cover different docs ("
        + "; ".join(parts)
        + "); pass --intersect to compare the common docs only"
    )


def align_runs(runs: list[Run], intersect: bool = False) -> tuple[list[MetricGroup], list[str]]:
    """Align every (task, metric, filter) present in all runs by doc_id."""
    notes: list[str] = []
    keys = [k for k in runs[0].samples if all(k in r.samples for r in runs)]
    all_keys = {k for r in runs for k in r.samples}
    for k in sorted(all_keys - set(keys)):
        notes.append(f"task {k[0]} (filter {k[1]}) is not in every run; skipped")
    if not keys:
        raise RunError("the runs have no task/filter in common")
    groups = []
    for key in sorted(keys):
        docs = _common_docs(runs, key, intersect)
        n_ref = len(runs[0].samples[key].doc_ids)
        if len(docs) < n_ref or any(len(r.samples[key].doc_ids) != len(docs) for r in runs):
            notes.append(f"task {key[0]}: --intersect kept {len(docs)} common docs")
        groups += _groups_for(runs, key, docs, notes)
    if not groups:
        raise RunError("no per-doc numeric metric is shared by all runs")
    return groups, notes


def _groups_for(runs: list[Run], key, docs: list[int], notes: list[str]) -> list[MetricGroup]:
    task, flt = key
    tss = [r.samples[key] for r in runs]
    indexes = [_doc_index(ts) for ts in tss]
    rows = [[ix[d][0] for d in docs] for ix in indexes]
    metrics = [m for m in tss[0].metrics if all(m in ts.metrics for ts in tss)]
    for m in sorted({m for ts in tss for m in ts.metrics} - set(metrics)):
        notes.append(f"task {task}: metric {m!r} is not in every run; skipped")
    aggs = {m: runs[0].aggregations.get((task, m), MEAN) for m in metrics}
    notes += [f"task {task}: {agg}" for agg in aggs.values() if isinstance(agg, str)]
    metrics = [m for m in metrics if not isinstance(aggs[m], str)]
    clusters = None
    if tss[0].clusters is not None:
        clusters = np.asarray([str(tss[0].clusters[i]) for i in rows[0]])
    out = []
    for m in metrics:
        values = np.stack([ts.metrics[m][r] for ts, r in zip(tss, rows)]).astype(float)
        agg = aggs[m]
        assert not isinstance(agg, str)
        if values.ndim != (3 if agg.components == 2 else 2):
            notes.append(f"task {task}: metric {m!r} items do not fit its aggregation {agg.name!r}; skipped")
            continue
        hib = runs[0].higher_is_better.get(task, {}).get(m)
        binary = agg.kind == "mean" and bool(np.all((values == 0) | (values == 1)))
        out.append(MetricGroup(task, m, flt, docs, values, clusters, binary, hib, agg))
    return out
