"""The PNG plots of `dq compare`: the forest of differences and the decomposer x solver heatmap."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness_ext.compare.report_md import ci_label, filters_line
from harness_ext.compare.results import ComparisonReport

MAX_HEATMAPS = 6


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on eval machines
    import matplotlib.pyplot as plt

    return plt


def plot_forest(report: ComparisonReport, path: Path) -> None:
    """Forest plot: each comparison's difference with its bootstrap CI."""
    plt = _pyplot()
    comps = report.comparisons
    rows = len(comps)
    # Fixed margins instead of tight_layout: tight_layout re-draws the figure,
    # which costs seconds with 190 labelled rows.
    height = min(0.2 * rows + 1.2, 80)
    fig = plt.figure(figsize=(10, height))
    ax = fig.add_axes((0.38, 0.6 / height, 0.58, 1 - 0.9 / height))
    y = np.arange(rows)[::-1]
    diff = np.array([c.diff for c in comps])
    err = np.array([[c.diff - c.ci_low for c in comps], [c.ci_high - c.diff for c in comps]])
    sig = np.array([c.significant for c in comps])
    styles = ((~sig, "tab:gray", "not significant"), (sig, "tab:red", "significant (adjusted)"))
    for mask, color, label in styles:
        if mask.any():  # one errorbar call per colour, not one per row
            ax.errorbar(
                diff[mask], y[mask], xerr=err[:, mask], fmt="o", color=color, ms=3, capsize=2, lw=1, label=label
            )
    ax.axvline(0, color="black", lw=0.8)
    # Text is the slow part of this plot (~10 ms per label), so the
    # task/metric prefix goes into the title when all rows share it.
    groups = {(c.task, c.metric, c.filter) for c in comps}
    prefix = len(groups) > 1
    labels = [(f"{c.task}/{c.metric}: " if prefix else "") + f"{c.b} − {c.a}" for c in comps]
    # One plain Text per row instead of 190 tick objects (each a Text, a spare Text and two
    # lines that matplotlib lays out again for the title): the same picture, ~3x faster to draw.
    ax.set_yticks([])
    at_left = ax.get_yaxis_transform()  # x in axes units, y in data units
    for yi, label in zip(y, labels):
        ax.text(-0.01, yi, label, transform=at_left, ha="right", va="center", fontsize=7)
    if not prefix:
        ((task, metric, flt),) = groups
        ax.set_title(f"{task} / {metric} (filter {flt})", fontsize=9)
    else:
        ax.set_title(f"filters: {filters_line(report)}".replace("`", ""), fontsize=8)
    ax.set_ylim(-1, rows)
    ax.set_xlabel(f"difference (B − A), {ci_label(report.confidence)}", fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    # Low PNG compression: a tall forest plot otherwise spends ~1 s in zlib.
    fig.savefig(path, dpi=90, pil_kwargs={"compress_level": 1})
    plt.close(fig)


def _heatmap_groups(report: ComparisonReport) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys((s.task, s.metric, s.filter) for s in report.summaries))


def plot_heatmap(report: ComparisonReport, path: Path) -> bool:
    """Decomposer x solver grid of means; only when every run is two_stage, each in its own cell."""
    if not report.runs or any(r.decomposer is None for r in report.runs):
        return False
    cells = [(r.decomposer, r.solver) for r in report.runs]
    if len(set(cells)) < len(cells):  # e.g. static vs dynamic mode: one cell would hide a run
        return False
    plt = _pyplot()
    decs = list(dict.fromkeys(r.decomposer for r in report.runs))
    sols = list(dict.fromkeys(r.solver for r in report.runs))
    cell = {r.label: (decs.index(r.decomposer), sols.index(r.solver)) for r in report.runs}
    groups = _heatmap_groups(report)[:MAX_HEATMAPS]
    size = (1.2 * len(sols) * len(groups) + 2, 0.7 * len(decs) + 2)
    fig, axes = plt.subplots(1, len(groups), figsize=size, squeeze=False)
    for ax, key in zip(axes[0], groups):
        grid = np.full((len(decs), len(sols)), np.nan)
        for s in report.summaries:
            if (s.task, s.metric, s.filter) == key and s.label in cell:
                grid[cell[s.label]] = s.mean
        im = ax.imshow(grid, cmap="viridis", aspect="auto")
        mid = np.nanmean([np.nanmin(grid), np.nanmax(grid)])
        for (i, j), v in np.ndenumerate(grid):
            if not np.isnan(v):  # dark text on the bright end of viridis
                ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="black" if v > mid else "white", fontsize=8)
        ax.set_xticks(range(len(sols)), sols, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(decs)), decs, fontsize=8)
        ax.set_xlabel("solver")
        ax.set_ylabel("decomposer")
        ax.set_title(f"{key[0]} / {key[1]} (filter {key[2]})", fontsize=9)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
