"""The study's decomposer x solver heatmaps (plots/heatmap_<task>.png), one fixed [0, 1] scale."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness_ext.compare.api import ComparisonReport
from harness_ext.compare.sections import primary_metric


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
