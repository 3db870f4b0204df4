"""`dq compare --out`: report.md, comparisons.csv/.json and PNG plots, written as one directory.

`write_report` builds everything in a temporary sibling directory and only
moves it into place once all files are written, so an error never leaves a
half-written report behind. What each file holds: report_md.py (markdown),
report_data.py (CSV / JSON records), plots.py (PNG).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from harness_ext.compare.plots import plot_forest, plot_heatmap
from harness_ext.compare.report_data import CORE_FIELDS, write_csv, write_json
from harness_ext.compare.report_md import markdown_tables, report_markdown
from harness_ext.compare.results import ComparisonReport
from harness_ext.errors import DQError

__all__ = ["CORE_FIELDS", "ReportError", "markdown_tables", "plot_heatmap", "write_report"]
PLOT_NAMES = ("forest.png", "heatmap.png")


class ReportError(DQError):
    """The report could not be written; the message is one line."""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _write_all(report: ComparisonReport, tmp: Path) -> list[str]:
    plots = []
    if report.comparisons:
        plot_forest(report, tmp / "forest.png")
        plots.append("forest.png")
    if plot_heatmap(report, tmp / "heatmap.png"):
        plots.append("heatmap.png")
    write_csv(report, tmp / "comparisons.csv")
    write_json(report, tmp / "comparisons.json")
    (tmp / "report.md").write_text(report_markdown(report, plots), encoding="utf-8")
    return ["report.md", "comparisons.csv", "comparisons.json", *plots]


def write_report(report: ComparisonReport, out_dir: str | Path) -> list[Path]:
    """Write report.md, comparisons.csv/.json and PNG plots into out_dir atomically."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} exists and is not a directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{_slug(out.name)}.tmp-", dir=out.parent))
    except OSError as exc:
        raise ReportError(f"cannot create a directory next to {out}: {exc}") from None
    try:
        names = _write_all(report, tmp)
        if out.exists():
            for name in names:  # same filesystem, so each replace is atomic
                os.replace(tmp / name, out / name)
            for stale in set(PLOT_NAMES) - set(names):  # a plot from an older report
                (out / stale).unlink(missing_ok=True)
            tmp.rmdir()
        else:
            os.rename(tmp, out)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ReportError(f"writing the report to {out} failed: {exc}") from exc
    return [out / n for n in names]
