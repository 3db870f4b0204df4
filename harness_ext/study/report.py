"""The end of `dq study`: paired comparisons, leaderboard.md, comparisons.json and plots.

Comparisons, per task (the study file's ``comparisons:`` narrows them): every pair of
decomposers under the same solver (against single-stage when one is ``none``) and every pair of
solvers under the same decomposer, paired on the same docs (harness_ext.compare.compare_runs),
then Holm over *all* comparisons of the study at once: one family per study.
"""

from __future__ import annotations

import math
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from harness_ext.compare import sections_md, stats
from harness_ext.compare.adjust import adjust_family
from harness_ext.compare.api import Comparison, ComparisonReport, RunInfo, RunSummary, compare_runs
from harness_ext.compare.generalize import Config
from harness_ext.compare.runs import load_run
from harness_ext.compare.sections import Sections, build_sections, primary_metric
from harness_ext.errors import DQError
from harness_ext.study import cost as costs


def _solo_summaries(path: str, label: str, alpha: float) -> list[RunSummary]:
    """CIs of a cell that has no baseline to be compared with."""
    run = load_run(path, label)
    out = []
    for (task, flt), ts in run.samples.items():
        for metric, values in ts.metrics.items():
            clusters = np.asarray([str(c) for c in ts.clusters]) if ts.clusters is not None else None
            m = stats.mean_ci(values, alpha, clusters=clusters)
            row = (label, task, metric, flt, m.n, m.statistic, m.ci_low, m.ci_high, m.method, m.stderr)
            out.append(RunSummary(*row, m.clustered_stderr, m.n_clusters))
    return out


def wanted(a: dict[str, Any], b: dict[str, Any], kinds: tuple[str, ...], pairs: tuple = ()) -> bool:
    """Is (a, b) a comparison the study asks for? Same solver: decomposers compared (against
    single-stage when one is ``none``); same decomposer: solvers compared; or a listed pair."""
    if a["task"] != b["task"]:
        return False
    cells = {(a["decomposer"], a["solver"]), (b["decomposer"], b["solver"])}
    if any(cells == set(pair) for pair in pairs):
        return True
    if a["solver"] == b["solver"]:
        single = "none" in (a["decomposer"], b["decomposer"])
        return ("single_stage" if single else "decomposers") in kinds
    return a["decomposer"] == b["decomposer"] and "solvers" in kinds


def _task_comparisons(study, members: list[dict[str, Any]]) -> tuple[list, list, list[str]]:
    """Every wanted pair among one task's cells, single-stage cells first (as run A)."""
    ordered = sorted(members, key=lambda c: (c["decomposer"] != "none", c["label"]))
    by_label = {c["label"]: c for c in ordered}
    rep = compare_runs(
        [c["output_dir"] for c in ordered],
        labels=[c["label"] for c in ordered],
        alpha=study.alpha,
        iterations=study.iterations,
        seed=study.seed,
        correction="holm",
    )
    kept = [c for c in rep.comparisons if wanted(by_label[c.a], by_label[c.b], study.comparisons, study.pairs)]
    return rep.summaries, kept, rep.notes


def build_report(study, cells: list[dict[str, Any]]) -> ComparisonReport:
    """One Holm family per study: every comparison the study asks for (``comparisons:``)."""
    ok = [c for c in cells if c["status"] == "ok"]
    by_task: dict[str, list[dict]] = defaultdict(list)
    for c in ok:
        by_task[c["task"]].append(c)
    summaries: list[RunSummary] = []
    comparisons: list[Comparison] = []
    notes: list[str] = []
    for task, members in by_task.items():
        if len(members) > 1:
            got = _task_comparisons(study, members)
            summaries, comparisons, notes = summaries + got[0], comparisons + got[1], notes + got[2]
        else:
            summaries += _solo_summaries(members[0]["output_dir"], members[0]["label"], study.alpha)
            notes.append(f"{task}: one cell ran ({members[0]['label']}); nothing to compare it with")
    comparisons = adjust_family(comparisons, "holm", study.alpha)
    runs: dict[str, RunInfo] = {}
    for c in ok:
        runs.setdefault(
            c["label"],
            RunInfo(c["label"], str(Path(c["output_dir"]).parents[2]), "two_stage", c["decomposer"], c["solver"]),
        )
    alpha, iters, seed = study.alpha, study.iterations, study.seed
    return ComparisonReport(list(runs.values()), summaries, comparisons, alpha, "holm", iters, seed, notes=notes)


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _num(x: float | None, fmt: str = ".3f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return format(x, fmt)


def _p(p: float) -> str:
    return "—" if p is None or not math.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def _stage(c: dict | None) -> str:
    if not c:
        return "—"
    if c.get("backend") in ("none", "oracle"):
        return c["backend"]
    tok = f"{c['prompt_tokens']}/{c['completion_tokens']}"
    extra = f" ({c['generated']} new)" if c["generated"] != c["completion_tokens"] else ""
    return f"{tok}{extra}, {_num(c['flops'], '.2e')} FLOPs"


def _pairs_table(report: ComparisonReport, task: str, metric: str, flt: str, alpha: float) -> list[str]:
    rows = [c for c in report.comparisons if (c.task, c.metric, c.filter) == (task, metric, flt)]
    if not rows:
        return ["No comparisons for this task."]
    out = [
        f"Comparisons ({len(rows)}; Δ = B − A):",
        "",
        "| A | B | n | Δ [CI] | p (Holm) |",
        "|:---|:---|---:|:---|---:|",
    ]
    for c in sorted(rows, key=lambda c: c.p_adjusted):
        mark = "*" if c.p_adjusted < alpha else ""
        out.append(
            f"| {c.a} | {c.b} | {c.n} | {c.diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}] | {_p(c.p_adjusted)}{mark} |"
        )
    return out


def leaderboard_markdown(
    study, state: dict, report: ComparisonReport, plots: tuple[str, ...] | list[str] = (), sections=None
) -> str:
    cells = state["cells"]
    rank_of = {(t, r.label): r for t, rows in (sections.ranks.items() if sections else []) for r in rows}
    by_key = {(c["task"], c["label"]): c for c in cells if c["status"] == "ok"}
    # Δ vs none: each cell against the single-stage cell of its own solver (not any none/*)
    solver_of = {c["label"]: c.get("solver") for c in cells}
    baseline_of = {c["label"]: f"none/{c.get('solver')}" for c in cells if c.get("decomposer") != "none"}
    comp = {
        (c.task, c.metric, c.filter, c.b): c
        for c in report.comparisons
        if baseline_of.get(c.b) == c.a and solver_of.get(c.a) == solver_of.get(c.b)
    }
    lines = [
        f"# Leaderboard: {study.name}",
        "",
        f"- study file `{study.path}`; tasks {', '.join(study.tasks)}; limit {study.limit}; seed {study.seed}",
        f"- {sum(c['status'] == 'ok' for c in cells)} cells ok, "
        f"{sum(c['status'] == 'skipped' for c in cells)} skipped, {sum(c['status'] == 'failed' for c in cells)} failed",
        f"- {1 - study.alpha:.0%} CIs; Δ = cell − `none/<same solver>` on the same docs (methods as in "
        f"[compare/report.md](compare/report.md)); p Holm-adjusted over all {len(report.comparisons)} comparisons "
        f"of the study ({_family(study)}), listed under each task; `*` adjusted p < {study.alpha}",
        "- tokens are prompt/completion per stage for the whole cell (nominal, cache or not); `(k new)` = "
        "completion tokens generated in this invocation; FLOPs ≈ 2 × parameters × tokens"
        + ("; USD from the study's price table ($/1k tokens)" if study.prices else ""),
        "- # = rank by the point estimate, with its simultaneous 95% rank interval from a paired bootstrap of "
        "all cells of the task (`=1`: tied with the best); overall ranking, cost frontier and generalization: "
        "[generalization.md](generalization.md)",
        "",
    ]
    for task in study.tasks:
        key = primary_metric(report, task)
        if key is None:
            continue
        metric, flt = key
        rows = [s for s in report.summaries if (s.task, s.metric, s.filter) == (task, metric, flt)]
        rows.sort(key=lambda s: -s.mean)
        lines += [
            f"## {task} — {metric} (filter {flt})",
            "",
            "| # | decomposer | solver | n | mean [95% CI] | Δ vs none [95% CI] | p (Holm) | "
            "decomposer tokens, FLOPs | solver tokens, FLOPs | USD | wall s |",
            "|---:|:---|:---|---:|:---|:---|---:|:---|:---|---:|---:|",
        ]
        for rank, s in enumerate(rows, 1):
            cell = by_key.get((task, s.label), {})
            r = rank_of.get((task, s.label))
            place = f"{rank} [{r.rank_low}–{r.rank_high}]{' =1' if r.tied_with_best else ''}" if r else str(rank)
            c = comp.get((task, metric, flt, s.label))
            delta = (
                f"{c.diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]"
                if c
                else ("baseline" if cell.get("decomposer") == "none" else "—")
            )
            pval = (_p(c.p_adjusted) + ("*" if c.significant else "")) if c else "—"
            cost = cell.get("cost") or {}
            usd = costs.total(cost, "usd") if cost else None
            lines.append(
                f"| {place} | {cell.get('decomposer', '?')} | {cell.get('solver', '?')} | {s.n} | "
                f"{s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}] | {delta} | {pval} | {_stage(cost.get('decomposer'))} | "
                f"{_stage(cost.get('solver'))} | {_num(usd, '.2e')} | {_num(cell.get('wall_seconds'), '.0f')} |"
            )
        lines += ["", *_pairs_table(report, task, metric, flt, study.alpha), ""]
    not_run = [c for c in cells if c["status"] != "ok"]
    if not_run:
        lines += ["## Cells not in the table", ""]
        lines += [f"- `{c['id']}`: **{c['status']}** — {c['error']}" for c in not_run]
        lines.append("")
    if report.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in report.notes] + [""]
    lines += ["## Plots", ""] + [f"![{p}](plots/{p})" for p in plots] + [""] if plots else []
    lines += [
        "Full per-metric tables: [compare/report.md](compare/report.md); cost per cell and stage: "
        "[study.json](study.json); plots: [plots/](plots/).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _family(study) -> str:
    pairs = [f"{a[0]}/{a[1]} vs {b[0]}/{b[1]}" for a, b in study.pairs]
    return ", ".join([*study.comparisons, *pairs])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_heatmaps(study, report: ComparisonReport, out: Path) -> list[str]:
    plt = _pyplot()
    written = []
    decs = list(study.decomposers)
    sols = list(study.solvers)
    for task in study.tasks:
        key = primary_metric(report, task)
        if key is None:
            continue
        grid = np.full((len(decs), len(sols)), np.nan)
        text = {}
        for s in report.summaries:
            if (s.task, s.metric, s.filter) == (task, *key):
                d, v = s.label.split("/", 1)
                i, j = decs.index(d), sols.index(v)
                grid[i, j] = s.mean
                text[(i, j)] = f"{s.mean:.2f}\n[{s.ci_low:.2f}, {s.ci_high:.2f}]"
        fig, ax = plt.subplots(figsize=(1.8 * len(sols) + 2.5, 0.8 * len(decs) + 1.8))
        # dq metrics (exact_match, acc, em, f1) all lie in [0, 1]: one fixed scale across tasks.
        im = ax.imshow(grid, cmap="viridis", vmin=0, vmax=1, aspect="auto")
        for (i, j), v in np.ndenumerate(grid):
            label = text.get((i, j), "n/a")
            ax.text(
                j,
                i,
                label,
                ha="center",
                va="center",
                fontsize=8,
                color="black" if np.isfinite(v) and v > 0.6 else ("gray" if not np.isfinite(v) else "white"),
            )
        ax.set_xticks(range(len(sols)), sols)
        ax.set_yticks(range(len(decs)), decs)
        ax.set_xlabel("solver")
        ax.set_ylabel("decomposer")
        ax.set_title(f"{task}: {key[0]} (95% CI)", fontsize=10)
        fig.colorbar(im, ax=ax, shrink=0.8)
        fig.tight_layout()
        name = f"heatmap_{task}.png"
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        written.append(name)
    return written


def write_outputs(
    study, state: dict, out: Path, references=None, trained_on: dict[str, str] | None = None
) -> dict[str, Any]:
    """leaderboard.md, generalization.md, sections.json, comparisons.json, compare/ and plots/."""
    from harness_ext.compare.report import write_report

    written: dict[str, Any] = {}
    if not any(c["status"] == "ok" for c in state["cells"]):
        (out / "leaderboard.md").write_text(f"# Leaderboard: {study.name}\n\nNo cell finished.\n", encoding="utf-8")
        return {"leaderboard": str(out / "leaderboard.md")}
    report = build_report(study, state["cells"])
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
    study, state: dict, report: ComparisonReport, references=None, trained_on: dict[str, str] | None = None
) -> Sections:
    ok = [c for c in state["cells"] if c["status"] == "ok"]
    configs = list({c["label"]: Config(c["label"], c["decomposer"], c["solver"]) for c in ok}.values())
    paths: dict[str, dict[str, str | Path]] = defaultdict(dict)
    for c in ok:
        paths[c["task"]][c["label"]] = c["output_dir"]
    spend = {(c["task"], c["label"]): costs.totals(c.get("cost")) for c in ok}
    refs = default_references(study) if references is None else references
    return build_sections(
        report, configs, dict(paths), spend, refs, trained_on, min(study.iterations, 4000), study.seed
    )


def main(argv: list[str] | None = None) -> int:
    """Rewrite a finished study's reports from its committed cells (no model runs).

    python -m harness_ext.study.report DIR [--reference decomposer=smol ...] [--trained-on sd_t=TASK ...]
    """
    import argparse
    import json
    import sys

    from harness_ext.argv import parse_argv
    from harness_ext.io import write_json_atomic
    from harness_ext.study.spec import load_study

    p = argparse.ArgumentParser(prog="python -m harness_ext.study.report", description=main.__doc__)
    p.add_argument("out", metavar="DIR", help="a dq study --out directory (holds study.json and cells/)")
    p.add_argument("--reference", action="append", metavar="BY=NAME", help="e.g. decomposer=smol or solver=smol")
    p.add_argument("--trained-on", action="append", default=[], metavar="ENTRY=TASK", help="mark a training task")
    args = parse_argv(p, argv)
    if isinstance(args, int):
        return args
    try:
        state = json.loads((Path(args.out) / "study.json").read_text(encoding="utf-8"))
        refs = [_pair_arg(r, "--reference") for r in args.reference] if args.reference else None
        trained = dict(_pair_arg(t, "--trained-on") for t in args.trained_on)
        state["report"] = write_outputs(load_study(state["study_file"]), state, Path(args.out), refs, trained)
    except (DQError, OSError, KeyError, ValueError) as exc:
        print(f"dq: error: {exc}", file=sys.stderr)
        return 2
    write_json_atomic(Path(args.out) / "study.json", state)
    print(f"dq study report: rewrote {args.out}/leaderboard.md and {args.out}/generalization.md", file=sys.stderr)
    return 0


def _pair_arg(text: str, flag: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ValueError(f"{flag} expects NAME=VALUE, got {text!r}")
    return key, value


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
