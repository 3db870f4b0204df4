"""What `dq view` was pointed at: study dirs, `dq compare --out` dirs and lm-eval run dirs.

Each argument becomes a `Source`: runs (label -> results files), the comparisons already
reported for them (`comparisons.json`, authoritative when present), plots to embed and, for
study cells, the per-stage cost `dq study` recorded. Nothing here parses samples; that is
`harness_ext.compare.runs.load_run`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness_ext import rundir
from harness_ext.compare import report_data
from harness_ext.errors import DQError
from harness_ext.study_record import CellCost, read_study

SourceKind = Literal["study", "compare", "runs"]
PLOT_GLOBS = ("*.png", "plots/*.png", "compare/*.png")


@dataclass
class RunRef:
    """One configuration: a label and its lm-eval results files (several for a study: one per task)."""

    label: str
    results: list[Path]
    cost: dict[str, CellCost] = field(default_factory=dict)  # task -> what `dq study` recorded


@dataclass
class Source:
    kind: SourceKind
    root: Path
    runs: list[RunRef]
    comparisons: list[dict] | None = None  # records as comparisons.json holds them
    plots: list[Path] = field(default_factory=list)
    alpha: float = 0.05
    iterations: int = 10_000


def _resolve(raw: str, anchor: Path) -> Path | None:
    """A path recorded by another command: as given, else relative to anchor or one of its parents."""
    p = Path(raw).expanduser()
    if p.is_absolute() or p.exists():
        return p if p.exists() else None
    for base in [anchor, *anchor.resolve().parents]:
        if (base / p).exists():
            return base / p
    return None


def _plots(root: Path) -> list[Path]:
    seen: dict[Path, None] = {}
    for pattern in PLOT_GLOBS:
        for f in sorted(root.glob(pattern)):
            seen.setdefault(f, None)
    return list(seen)


def study_source(root: Path) -> Source:
    study = read_study(root)
    out_recorded = Path(study.out or root)
    runs: dict[str, RunRef] = {}
    for cell in study.cells:
        if not cell.ok or not cell.output_dir:
            continue
        raw = Path(cell.output_dir)
        try:  # recorded relative to wherever `dq study` ran: re-anchor on this study dir
            path: Path | None = root / raw.relative_to(out_recorded)
        except ValueError:
            path = _resolve(str(raw), root)
        if path is None or not path.exists():
            continue
        ref = runs.setdefault(cell.label, RunRef(cell.label, []))
        ref.results += rundir.results_files(path)
        if cell.cost is not None:
            ref.cost[cell.task] = cell.cost
    if not runs:
        raise DQError(f"{root}/study.json: no finished cells with output on disk; run `dq study` first")
    comparisons = None
    for f in (root / "comparisons.json", root / "compare" / "comparisons.json"):
        if f.exists():
            comparisons = report_data.read_json(f)[0]
            break
    spec = study.spec or {}
    return Source(
        "study",
        root,
        list(runs.values()),
        comparisons,
        _plots(root),
        alpha=float(spec.get("alpha") or 0.05),
        iterations=int(spec.get("iterations") or 10_000),
    )


def compare_source(root: Path) -> Source:
    comparisons, recorded = report_data.read_json(root / "comparisons.json")
    pairs = [(str(r.get("label")), str(r.get("path"))) for r in recorded if isinstance(r, dict)]
    runs = []
    for label, raw in pairs:
        path = _resolve(raw, root)
        if path is not None:
            runs.append(RunRef(label, rundir.results_files(path)))
    if len(runs) < len(pairs) or not runs:
        # Paths moved (or an older comparisons.json without runs): the runs below this dir, labelled by load_run.
        runs = [RunRef("", [f]) for f in rundir.results_files(root)]
        if not runs and not pairs:
            raise DQError(
                f"{root}/comparisons.json records no runs (written before dq compare recorded them); "
                "rerun dq compare --out, or pass the run dirs too"
            )
        if not runs:
            raise DQError(f"{root}: comparisons.json names runs that are not on disk; pass the run dirs too")
    return Source("compare", root, runs, comparisons, _plots(root))


def runs_source(root: Path) -> Source:
    files = rundir.results_files(root)
    if not files:
        raise DQError(f"{root}: no study.json, comparisons.json or lm-eval results_*.json found")
    return Source("runs", root, [RunRef("", [f]) for f in files], None, _plots(root))


def find_source(path: str | Path) -> Source:
    root = Path(path)
    if not root.exists():
        raise DQError(f"{root}: no such file or directory")
    if (root / "study.json").exists():
        return study_source(root)
    for d in (root, root / "compare"):
        if (d / "comparisons.json").exists():
            src = compare_source(d)
            if d != root:
                src.plots = _plots(root) + [p for p in src.plots if p not in _plots(root)]
            return src
    return runs_source(root)
