"""leaderboard.md of `dq study`: per task, the cells ranked with their CIs, Δ vs single-stage,
cost per stage, and the study's comparisons."""

from __future__ import annotations

import math

from harness_ext.compare.api import ComparisonReport
from harness_ext.compare.sections import primary_metric
from harness_ext.study_record import CellResult, StageCost, StudyResult


def _num(x: float | None, fmt: str = ".3f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return format(x, fmt)


def _p(p: float) -> str:
    return "—" if p is None or not math.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def _stage(c: StageCost | None) -> str:
    if c is None:
        return "—"
    if c.backend in ("none", "oracle"):
        return c.backend
    tok = f"{c.prompt_tokens}/{c.completion_tokens}"
    extra = f" ({c.generated} new)" if c.generated != c.completion_tokens else ""
    return f"{tok}{extra}, {_num(c.flops, '.2e')} FLOPs"


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
    study, state: StudyResult, report: ComparisonReport, plots: tuple[str, ...] | list[str] = (), sections=None
) -> str:
    cells = state.cells
    rank_of = {(t, r.label): r for t, rows in (sections.ranks.items() if sections else []) for r in rows}
    by_key = {(c.task, c.label): c for c in cells if c.ok}
    # Δ vs none: each cell against the single-stage cell of its own solver (not any none/*)
    solver_of = {c.label: c.solver for c in cells}
    baseline_of = {c.label: f"none/{c.solver}" for c in cells if c.decomposer != "none"}
    comp = {
        (c.task, c.metric, c.filter, c.b): c
        for c in report.comparisons
        if baseline_of.get(c.b) == c.a and solver_of.get(c.a) == solver_of.get(c.b)
    }
    lines = [
        f"# Leaderboard: {study.name}",
        "",
        f"- study file `{study.path}`; tasks {', '.join(study.tasks)}; limit {study.limit}; seed {study.seed}",
        f"- {state.count('ok')} cells ok, {state.count('skipped')} skipped, {state.count('failed')} failed",
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
        # the rank table's point rank knows the metric's direction (lower-is-better ranks the
        # lowest first); without it (no sections) higher is better, as for every dq task metric
        if all((task, s.label) in rank_of for s in rows):
            rows.sort(key=lambda s: (rank_of[(task, s.label)].statistic, -s.mean))
        else:
            rows.sort(key=lambda s: -s.mean)
        lines += [
            f"## {task} — {metric} (filter {flt})",
            "",
            "| # | decomposer | solver | n | mean [95% CI] | Δ vs none [95% CI] | p (Holm) | "
            "decomposer tokens, FLOPs | solver tokens, FLOPs | USD | wall s |",
            "|---:|:---|:---|---:|:---|:---|---:|:---|:---|---:|---:|",
        ]
        for rank, s in enumerate(rows, 1):
            cell = by_key.get((task, s.label))
            r = rank_of.get((task, s.label))
            # the rank table's point rank: equal scores share it (rank_entries)
            place = f"{r.statistic} [{r.rank_low}–{r.rank_high}]{' =1' if r.tied_with_best else ''}" if r else str(rank)
            c = comp.get((task, metric, flt, s.label))
            delta = (
                f"{c.diff:+.3f} [{c.ci_low:+.3f}, {c.ci_high:+.3f}]"
                if c
                else ("baseline" if cell is not None and cell.decomposer == "none" else "—")
            )
            pval = (_p(c.p_adjusted) + ("*" if c.significant else "")) if c else "—"
            lines.append(f"| {place} | {_cell_columns(cell, s, delta, pval)} |")
        lines += ["", *_pairs_table(report, task, metric, flt, study.alpha), ""]
    not_run = [c for c in cells if not c.ok]
    if not_run:
        lines += ["## Cells not in the table", ""]
        lines += [f"- `{c.id}`: **{c.status}** — {c.error}" for c in not_run]
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


def _cell_columns(cell: CellResult | None, s, delta: str, pval: str) -> str:
    """decomposer … wall s of one leaderboard row."""
    cost = cell.cost if cell is not None else None
    usd = cost.total("usd") if cost else None
    dec, sol = (cell.decomposer, cell.solver) if cell is not None else ("?", "?")
    return (
        f"{dec} | {sol} | {s.n} | {s.mean:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}] | {delta} | {pval} | "
        f"{_stage(cost.decomposer if cost else None)} | {_stage(cost.solver if cost else None)} | "
        f"{_num(usd, '.2e')} | {_num(cell.wall_seconds if cell is not None else None, '.0f')}"
    )


def _family(study) -> str:
    pairs = [f"{a[0]}/{a[1]} vs {b[0]}/{b[1]}" for a, b in study.pairs]
    return ", ".join([*study.comparisons, *pairs])
