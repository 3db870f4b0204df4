"""Load lm-eval output directories (written with --log_samples) and align them.

lm-eval writes `OUT/<model_name_sanitized>/results_<date>.json` plus one
`samples_<task>_<date>.jsonl` per task. A RUN argument may be OUT, the model
subdirectory, or the results file itself.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness_ext.errors import DQError

GroupKey = tuple[str, str, str]  # (task, metric, filter)


class RunError(DQError):
    """A problem with the runs given to `dq compare`; the message is one line."""


@dataclass
class TaskSamples:
    """Per-doc metric values of one (task, filter) from one run."""

    task: str
    filter: str
    doc_ids: list[int]
    doc_hashes: list[str]
    metrics: dict[str, np.ndarray]
    clusters: list | None = None


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


@dataclass
class MetricGroup:
    """One (task, metric, filter) aligned across runs: values[r, i] for doc i."""

    task: str
    metric: str
    filter: str
    doc_ids: list[int]
    values: np.ndarray  # (runs, n)
    clusters: np.ndarray | None
    binary: bool
    higher_is_better: bool | None = None

    @property
    def key(self) -> GroupKey:
        return (self.task, self.metric, self.filter)


# --------------------------------------------------------------------------
# Locating files
# --------------------------------------------------------------------------


def _date_of(results_file: Path) -> str:
    # date_id is an ISO timestamp with ':' replaced by '-'; it has no '_'.
    return results_file.stem.rsplit("_", 1)[-1]


def resolve_results_file(path: str | Path) -> tuple[Path, list[str]]:
    """Find the results JSON a RUN argument refers to (newest if several)."""
    p = Path(path)
    if p.is_file():
        if p.suffix != ".json":
            raise RunError(f"{p}: expected an lm-eval results_*.json file or output directory")
        return p, []
    if not p.is_dir():
        raise RunError(f"{p}: no such file or directory")
    found = sorted(p.glob("results_*.json")) or sorted(p.glob("*/results_*.json"))
    if not found:
        raise RunError(f"{p}: no lm-eval results_*.json found (here or one level down)")
    # The date suffix is an ISO timestamp, so it sorts chronologically.
    found.sort(key=lambda f: (_date_of(f), f.stat().st_mtime))
    notes = []
    if len(found) > 1:
        notes.append(f"{p} holds {len(found)} runs; using the newest, {found[-1].name}")
    return found[-1], notes


def find_samples_files(results_file: Path) -> dict[str, Path]:
    """Map task name -> samples file with the same date suffix."""
    date = _date_of(results_file)
    suffix = f"_{date}.jsonl"
    files = {}
    for f in sorted(results_file.parent.glob(f"samples_*{suffix}")):
        files[f.name[len("samples_") : -len(suffix)]] = f
    if not files:
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


# --------------------------------------------------------------------------
# Reading samples
# --------------------------------------------------------------------------


def _metric_value(value: object, where: str, metric: str) -> float | None:
    """Per-doc metric as float; None for corpus-level metrics (lists, strings)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise RunError(f"{where}: metric {metric!r} is {value} (not a finite number)")
        return float(value)
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
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
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
        out[(task, flt)] = ts
        notes += [f"{task}: metric {m!r} is not per-doc numeric; skipped" for m in skipped]
    return out, notes


def _task_samples(task: str, flt: str, recs: list[dict]) -> tuple[TaskSamples, list[str]]:
    names = list(dict.fromkeys(m for r in recs for m in r["metrics"]))
    values: dict[str, list[float]] = {m: [] for m in names}
    skipped: set[str] = set()
    seen: set[int] = set()
    for r in recs:
        if r["doc_id"] in seen:
            raise RunError(f"{r['_where']}: duplicate doc_id {r['doc_id']} (filter {flt})")
        seen.add(r["doc_id"])
        for m in names:
            if m not in r:
                raise RunError(f"{r['_where']}: metric {m!r} missing for doc_id {r['doc_id']}")
            v = _metric_value(r[m], r["_where"], m)
            if v is None:
                skipped.add(m)
            values[m].append(v if v is not None else 0.0)
    docs = [r.get("doc") if isinstance(r.get("doc"), dict) else {} for r in recs]
    clusters = [d.get("cluster_id") for d in docs]
    has_clusters = all(c is not None for c in clusters)
    return (
        TaskSamples(
            task=task,
            filter=flt,
            doc_ids=[r["doc_id"] for r in recs],
            doc_hashes=[str(r.get("doc_hash", "")) for r in recs],
            metrics={m: np.asarray(v) for m, v in values.items() if m not in skipped},
            clusters=clusters if has_clusters else None,
        ),
        sorted(skipped),
    )


def load_run(path: str | Path, label: str | None = None) -> Run:
    results_file, notes = resolve_results_file(path)
    try:
        results = json.loads(results_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{results_file}: not valid JSON ({exc})") from None
    if not isinstance(results, dict):
        raise RunError(f"{results_file}: not an lm-eval results file")
    samples: dict[tuple[str, str], TaskSamples] = {}
    for task, f in find_samples_files(results_file).items():
        s, n = load_samples(task, f)
        samples.update(s)
        notes += n
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
    clusters = None
    if tss[0].clusters is not None:
        clusters = np.asarray([str(tss[0].clusters[i]) for i in rows[0]])
    out = []
    for m in metrics:
        values = np.vstack([ts.metrics[m][r] for ts, r in zip(tss, rows)]).astype(float)
        hib = runs[0].higher_is_better.get(task, {}).get(m)
        binary = bool(np.all((values == 0) | (values == 1)))
        out.append(MetricGroup(task, m, flt, docs, values, clusters, binary, hib))
    return out
