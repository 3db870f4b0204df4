"""The end of `dq study`: compare/, comparisons.json, plots/, leaderboard.md, generalization.md.

What each part holds: family.py (the comparisons, one Holm family per study), leaderboard.py
(leaderboard.md), plots.py (heatmaps); ranks, frontier and generalization come from
compare/sections.py. `python -m harness_ext.study.report DIR` rewrites them from the cells.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness_ext.compare import sections_md
from harness_ext.compare.api import ComparisonReport
from harness_ext.compare.generalize import Config
from harness_ext.compare.sections import Sections, build_sections
from harness_ext.errors import DQError
from harness_ext.study.family import build_report
from harness_ext.study.leaderboard import leaderboard_markdown
from harness_ext.study.plots import plot_heatmaps
from harness_ext.study_record import StudyResult, read_study

__all__ = ["default_references", "main", "study_sections", "write_outputs"]


def write_outputs(
    study, state: StudyResult, out: Path, references=None, trained_on: dict[str, str] | None = None
) -> dict[str, Any]:
    """leaderboard.md, generalization.md, sections.json, comparisons.json, compare/ and plots/."""
    from harness_ext.compare.report import write_report

    written: dict[str, Any] = {}
    if not state.ok_cells():
        (out / "leaderboard.md").write_text(f"# Leaderboard: {study.name}\n\nNo cell finished.\n", encoding="utf-8")
        return {"leaderboard": str(out / "leaderboard.md")}
    report = build_report(study, state.cells)
    write_report(report, out / "compare")
    shutil.copyfile(out / "compare" / "comparisons.json", out / "comparisons.json")
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    written["plots"] = plot_heatmaps(study, report, plots)
    sec: Sections | None = None
    try:  # the leaderboard stands without the extra sections; study.json says why they are missing
        sec = study_sections(study, state, report, references, trained_on)
        title = f"Ranks, cost frontier and generalization: {study.name}"
        written["sections"] = sections_md.write(sec, out, title, frontier_name="accuracy_vs_cost.png")
        written["plots"] += [written["sections"][k] for k in ("frontier", "forest") if k in written["sections"]]
    except Exception as exc:  # noqa: BLE001
        written["sections"] = {"error": f"{type(exc).__name__}: {exc}"}
        report.notes.append(f"no ranks / frontier / generalization: {type(exc).__name__}: {exc}")
    board = leaderboard_markdown(study, state, report, written["plots"], sec)
    (out / "leaderboard.md").write_text(board, encoding="utf-8")
    written.update(
        leaderboard=str(out / "leaderboard.md"),
        comparisons=str(out / "comparisons.json"),
        compare=str(out / "compare"),
        n_comparisons=len(report.comparisons),
        n_significant=sum(c.significant for c in report.comparisons),
    )
    return written


# --------------------------------------------------------------------------------------------
# Ranks, frontier, generalization (compare/sections.py) for a study
# --------------------------------------------------------------------------------------------


def default_references(study) -> list[tuple[str, str]]:
    """(by, reference) pairs a study reports: the first model decomposer and the first solver.

    A study file has no key naming its reference (yet); the first model in each role is the
    backbone in every study here. `python -m harness_ext.study.report` can name others.
    """
    out = []
    dec = next((d for d in study.decomposers if d not in ("none", "oracle")), None)
    if dec is not None and len(study.decomposers) > 1:
        out.append(("decomposer", dec))
    if len(study.solvers) > 1:
        out.append(("solver", study.solvers[0]))
    return out


def study_sections(
    study, state: StudyResult, report: ComparisonReport, references=None, trained_on: dict[str, str] | None = None
) -> Sections:
    ok = state.ok_cells()
    configs = list({c.label: Config(c.label, c.decomposer, c.solver) for c in ok}.values())
    paths: dict[str, dict[str, str | Path]] = defaultdict(dict)
    for c in ok:
        paths[c.task][c.label] = str(c.output_dir)
    spend = {(c.task, c.label): c.totals() for c in ok}
    refs = default_references(study) if references is None else references
    return build_sections(
        report, configs, dict(paths), spend, refs, trained_on, min(study.iterations, 4000), study.seed
    )


def main(argv: list[str] | None = None) -> int:
    """Rewrite a finished study's reports from its committed cells (no model runs).

    python -m harness_ext.study.report DIR [--reference decomposer=smol ...] [--trained-on sd_t=TASK ...]
    """
    import argparse
    import sys

    from harness_ext.argv import parse_argv
    from harness_ext.study.spec import load_study

    p = argparse.ArgumentParser(prog="python -m harness_ext.study.report", description=main.__doc__)
    p.add_argument("out", metavar="DIR", help="a dq study --out directory (holds study.json and cells/)")
    p.add_argument("--reference", action="append", metavar="BY=NAME", help="e.g. decomposer=smol or solver=smol")
    p.add_argument("--trained-on", action="append", default=[], metavar="ENTRY=TASK", help="mark a training task")
    args = parse_argv(p, argv)
    if isinstance(args, int):
        return args
    try:
        state = read_study(args.out)
        refs = [_pair_arg(r, "--reference") for r in args.reference] if args.reference else None
        trained = dict(_pair_arg(t, "--trained-on") for t in args.trained_on)
        state.report = write_outputs(load_study(state.study_file), state, Path(args.out), refs, trained)
    except (DQError, OSError, KeyError, ValueError) as exc:
        print(f"dq: error: {exc}", file=sys.stderr)
        return 2
    state.save(Path(args.out) / "study.json")
    print(f"dq study report: rewrote {args.out}/leaderboard.md and {args.out}/generalization.md", file=sys.stderr)
    return 0


def _pair_arg(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ValueError(f"{flag} expects NAME=VALUE, got {text!r}")
    return key, value


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
