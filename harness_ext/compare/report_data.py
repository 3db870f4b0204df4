"""comparisons.csv and comparisons.json: one record per comparison, core columns first.

comparisons.json also records the runs compared (label and results path), so a reader such as
`dq view` finds them without parsing report.md: ``{"runs": [...], "comparisons": [...]}``.
Folders written before the runs were recorded hold a bare list of comparisons; `read_json`
reads both.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any

from harness_ext.compare.results import ComparisonReport
from harness_ext.errors import DQError

# Columns every consumer of comparisons.csv/json can rely on, in this order.
CORE_FIELDS = [
    "task",
    "metric",
    "filter",
    "a",
    "b",
    "n",
    "mean_a",
    "mean_b",
    "diff",
    "ci_low",
    "ci_high",
    "confidence",
    "test",
    "p_value",
    "p_adjusted",
]


def _clean(v):
    # JSON has no NaN/inf; null is what other tools can read.
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def comparison_records(report: ComparisonReport) -> list[dict]:
    out = []
    for c in report.comparisons:
        d = asdict(c)
        rec = {k: _clean(d.pop(k)) for k in CORE_FIELDS}
        rec.update({k: _clean(v) for k, v in d.items()})
        out.append(rec)
    return out


def run_records(report: ComparisonReport) -> list[dict[str, str]]:
    return [{"label": r.label, "path": r.path} for r in report.runs]


def write_json(report: ComparisonReport, path: Path) -> None:
    data = {"runs": run_records(report), "comparisons": comparison_records(report)}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def write_csv(report: ComparisonReport, path: Path) -> None:
    records = comparison_records(report)
    fields = list(records[0]) if records else CORE_FIELDS
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in records)


def read_json(path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(comparisons, runs) from a comparisons.json; runs is [] for the older bare-list form."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DQError(f"{path}: cannot read JSON ({exc}); rerun the command that wrote it") from None
    if isinstance(data, dict):
        return list(data.get("comparisons") or []), list(data.get("runs") or [])
    if not isinstance(data, list):
        raise DQError(f"{path}: expected comparisons as `dq compare --out` writes them")
    return data, []
