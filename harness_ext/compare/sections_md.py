"""Markdown and plots of sections.py: rank intervals, cost frontier, generalization forest."""

from __future__ import annotations

import math
from pathlib import Path

from harness_ext.compare.generalize import Generalization
from harness_ext.compare.sections import Sections

COST_NAMES = {"tokens": "tokens (both stages)", "flops": "FLOPs (2 × params × tokens)", "usd": "USD"}
COST_UNITS = {"tokens": (1e3, "per 1k tokens"), "flops": (1e12, "per 1e12 FLOPs"), "usd": (1.0, "per $")}


def _ci(x: float, lo: float, hi: float, signed: bool = False) -> str:
    f = "+.3f" if signed else ".3f"
    return f"{x:{f}} [{lo:{f}}, {hi:{f}}]"


def _p(p: float) -> str:
    return "—" if p is None or not math.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def ranks_markdown(sec: Sections) -> list[str]:
    conf = f"{1 - sec.alpha:.0%}"
    out = [
        "## Ranks with uncertainty",
        "",
        f"Rank intervals are simultaneous {conf} intervals (all entries of a table at once) from one paired "
        "bootstrap that resamples docs (clusters where the docs have them) jointly for every entry; an entry's "
        "rank lies in [1 + #entries surely better, K − #entries surely worse], by max-|t| simultaneous intervals "
        "of all pairwise differences (Klein, Wright & Wieczorek 2020). `=1`: the interval includes rank 1, "
        "tied with the best.",
        "",
    ]
    for task, rows in sec.ranks.items():
        metric, flt = sec.metric_of[task]
        out += [
            f"### {task} — {metric} ({flt})",
            "",
            "| rank | interval | entry | score [CI] | |",
            "|---:|:---|:---|:---|:---|",
        ]
        for r in rows:
            tie = "=1" if r.tied_with_best else ""
            out.append(
                f"| {r.statistic} | {r.rank_low}–{r.rank_high} | {r.label} | {_ci(r.score, r.score_low, r.score_high)} | {tie} |"
            )
        out.append("")
    if sec.overall:
        rec = {r.label: r for r in sec.records}
        out += [
            f"### Overall: mean over {', '.join(sec.overall_tasks)}",
            "",
            "Mean of the per-task scores (tasks bootstrapped independently: different docs). W/T/L: "
            "the entry's comparisons in the report's family that are significant for it / not significant / "
            "significant against it, after the family's multiplicity adjustment.",
            "",
            "| rank | interval | entry | mean score [CI] | W/T/L | |",
            "|---:|:---|:---|:---|:---|:---|",
        ]
        for r in sec.overall:
            wtl = rec.get(r.label)
            w = f"{wtl.wins}/{wtl.ties}/{wtl.losses}" if wtl else "—"
            tie = "=1" if r.tied_with_best else ""
            out.append(
                f"| {r.statistic} | {r.rank_low}–{r.rank_high} | {r.label} | {_ci(r.score, r.score_low, r.score_high)} | {w} | {tie} |"
            )
        out.append("")
    return out


def frontier_markdown(sec: Sections, plot: str | None) -> list[str]:
    if not sec.frontiers:
        return []
    out = [
        "## Cost frontier",
        "",
        "Accuracy against nominal cost (exact, so only accuracy has an interval). `P`: Pareto-optimal (no other "
        "entry is at most as costly and at least as accurate, one strictly). *Dominated by*: cheaper-or-equal "
        "entries that are significantly better in the report's family.",
        "",
    ]
    for task, by_kind in sec.frontiers.items():
        for kind, pts in by_kind.items():
            unit, unit_name = COST_UNITS[kind]
            out += [
                f"### {task} — {sec.metric_of[task][0]} vs {COST_NAMES[kind]}",
                "",
                f"| entry | cost | score [CI] | score {unit_name} [CI] | P | dominated by |",
                "|:---|---:|:---|:---|:---|:---|",
            ]
            for p in pts:
                per = p.per_cost(unit)
                per_s = _ci(*per) if per else "—"
                cost = "—" if p.cost is None else f"{p.cost:.3g}"
                out.append(
                    f"| {p.label} | {cost} | {_ci(p.statistic, p.ci_low, p.ci_high)} | {per_s} | "
                    f"{'P' if p.pareto else ''} | {', '.join(p.dominated_by)} |"
                )
            out.append("")
    if plot:
        out += [f"![cost frontier](plots/{plot})", ""]
    return out


def _forest_rows(g: Generalization) -> list[str]:
    out = [
        "| task | " + ("with " if g.by != "task" else "") + "| Δ [CI] | p | p (adj.) |",
        "|:---|:---|:---|---:|---:|",
    ]
    for c in g.cells:
        mark = " (trained)" if c.trained else ""
        star = "*" if c.significant else ""
        out.append(
            f"| {c.task}{mark} | {c.context} | {_ci(c.statistic, c.ci_low, c.ci_high, True)} | {_p(c.pvalue)} | {_p(c.p_adjusted)}{star} |"
        )
    m = g.pooled
    if m is not None:
        out.append(
            f"| **pooled** ({m.k} cells) | | **{_ci(m.statistic, m.ci_low, m.ci_high, True)}** | {_p(m.pvalue)} | |"
        )
    return out


def cross_task_table(gens: list[Generalization]) -> list[str]:
    """The paper's cross-task shape: rows entry (and context), columns evaluation tasks."""
    tasks = list(dict.fromkeys(c.task for g in gens for c in g.cells))
    if len(tasks) < 2:
        return []
    out = ["| entry | with | " + " | ".join(tasks) + " |", "|:---|:---|" + "---|" * len(tasks)]
    for g in gens:
        for ctx in dict.fromkeys(c.context for c in g.cells):
            row = {c.task: c for c in g.cells if c.context == ctx}
            vals = []
            for t in tasks:
                c = row.get(t)
                if c is None:
                    vals.append("—")
                    continue
                s = _ci(c.statistic, c.ci_low, c.ci_high, True) + ("*" if c.significant else "")
                vals.append(f"**{s}** (trained)" if c.trained else s)
            out.append(f"| {g.entry} | {ctx or '—'} | " + " | ".join(vals) + " |")
    return out


def generalization_markdown(sec: Sections, plot: str | None) -> list[str]:
    if not sec.generalization:
        return []
    out = [
        "## Generalization",
        "",
        "Each entry against the reference in every cell both ran, Δ = entry − reference on the same docs, the "
        "report's own interval and test per cell (`*`: significant after the family's adjustment). Pooled: "
        "random-effects meta-analysis (REML τ², Hartung–Knapp t interval on k − 1 df), each cell's SE read off "
        "its interval; cells on the same task share docs, so their covariance (per-doc correlation of the two "
        "cells' paired differences) enters the pooled estimate, Cochran's Q, I² and τ².",
        "",
    ]
    for by_ref in dict.fromkeys((g.by, g.reference) for g in sec.generalization):
        gens = [g for g in sec.generalization if (g.by, g.reference) == by_ref]
        out += [f"### By {by_ref[0]}: against `{by_ref[1]}`", ""]
        for g in gens:
            m = g.pooled
            het = f"; Q = {m.q:.2f} (p = {_p(m.q_pvalue)}), I² = {100 * m.i2:.0f} %, τ² = {m.tau2:.2g}" if m else ""
            out += [f"**{g.entry}** — {g.verdict}{het}", "", *_forest_rows(g), ""]
        table = cross_task_table(gens)
        if table:
            out += [
                "Cross-task table (Δ vs the reference [CI]; **bold**: the task the entry was trained on):",
                "",
                *table,
                "",
            ]
    if plot:
        out += [f"![generalization forest](plots/{plot})", ""]
    return out


def markdown(sec: Sections, plots: dict[str, str]) -> str:
    lines = [*ranks_markdown(sec), *frontier_markdown(sec, plots.get("frontier"))]
    lines += generalization_markdown(sec, plots.get("forest"))
    if sec.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in dict.fromkeys(sec.notes)], ""]
    return "\n".join(lines)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_frontier(sec: Sections, out: Path, name: str = "cost_frontier.png") -> str | None:
    keyed = [(t, "flops" if "flops" in f else next(iter(f))) for t, f in sec.frontiers.items()]
    if not keyed:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keyed), figsize=(4.8 * len(keyed), 4), squeeze=False)
    for ax, (task, kind) in zip(axes[0], keyed):
        pts = [p for p in sec.frontiers[task][kind] if p.cost]
        for p in pts:
            ax.errorbar([p.cost], [p.statistic], yerr=[[max(0.0, p.statistic - p.ci_low)], [max(0.0, p.ci_high - p.statistic)]],
                        fmt="o" if p.pareto else "x", color="C0" if p.pareto else "gray", capsize=3)  # fmt: skip
            ax.annotate(p.label, (p.cost, p.statistic), fontsize=7, xytext=(4, 3), textcoords="offset points")
        par = sorted((p for p in pts if p.pareto), key=lambda p: p.cost or 0)
        if par:
            ax.step([p.cost for p in par], [p.statistic for p in par], where="post", color="C0", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(COST_NAMES[kind], fontsize=8)
        ax.set_ylabel(f"{sec.metric_of[task][0]} ({1 - sec.alpha:.0%} CI)", fontsize=8)
        ax.set_title(f"{task}: ● Pareto-optimal", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / name, dpi=100)
    plt.close(fig)
    return name


def plot_forest(sec: Sections, out: Path, name: str = "generalization_forest.png") -> str | None:
    gens = sec.generalization
    if not gens:
        return None
    plt = _pyplot()
    rows = sum(len(g.cells) + (g.pooled is not None) + 1 for g in gens)
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * rows + 1.2))
    y, ticks, labels = 0.0, [], []
    for g in gens:
        y -= 1
        ticks.append(y)
        labels.append(f"{g.entry} vs {g.reference}")
        for c in g.cells:
            y -= 1
            ax.errorbar([c.statistic], [y], xerr=[[max(0.0, c.statistic - c.ci_low)], [max(0.0, c.ci_high - c.statistic)]], fmt="s", ms=3,
                        color="C3" if c.trained else "C0", capsize=2)  # fmt: skip
            ticks.append(y)
            labels.append(
                f"   {c.task}" + (f" / {c.context}" if c.context else "") + (" (trained)" if c.trained else "")
            )
        if g.pooled is not None:
            y -= 1
            m = g.pooled
            ax.fill([m.ci_low, m.statistic, m.ci_high, m.statistic], [y, y + 0.35, y, y - 0.35], color="k")
            ticks.append(y)
            labels.append(f"   pooled (I² {100 * m.i2:.0f} %)")
    ax.axvline(0, color="gray", lw=0.8, ls="--")
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel(f"Δ vs reference ({1 - sec.alpha:.0%} CI)", fontsize=8)
    ax.set_ylim(y - 1, 0)
    fig.tight_layout()
    fig.savefig(out / name, dpi=100)
    plt.close(fig)
    return name


def write(sec: Sections, out_dir: Path, title: str, frontier_name: str = "cost_frontier.png") -> dict[str, str]:
    """generalization.md (all three sections), sections.json and the two plots under out_dir/plots."""
    from harness_ext.io import clean, write_json_atomic, write_text_atomic

    plots_dir = out_dir / "plots"
    if sec.frontiers or sec.generalization:  # something to plot
        plots_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        k: v
        for k, v in (
            ("frontier", plot_frontier(sec, plots_dir, frontier_name)),
            ("forest", plot_forest(sec, plots_dir)),
        )
        if v
    }
    text = f"# {title}\n\n" + markdown(sec, plots)
    write_text_atomic(out_dir / "generalization.md", text)
    write_json_atomic(out_dir / "sections.json", clean(sec.to_dict()))
    return {"markdown": str(out_dir / "generalization.md"), "json": str(out_dir / "sections.json"), **plots}
