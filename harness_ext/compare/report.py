"""Writers for `dq compare` results: markdown, CSV, JSON and PNG plots.

`write_report` builds everything in a temporary sibling directory and only
moves it into place once all files are written, so an error never leaves a
half-written report behind.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from harness_ext.compare.results import Comparison, ComparisonReport
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
MAX_HEATMAPS = 6
PLOT_NAMES = ("forest.png", "heatmap.png")


class ReportError(DQError):
    """The report could not be written; the message is one line."""


# --------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------


def _f(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}f}"


def _p(p: float) -> str:
    if math.isnan(p):
        return "—"
    # below 1e-4 the digits mean nothing to a reader (and a Monte-Carlo p may be a floor)
    return "< 1e-4" if p < 1e-4 else f"{p:.4f}"


def _ci(confidence: float) -> str:
    return f"{100 * confidence:g}% CI"


def _rate(r: float | None) -> str:
    return "unknown" if r is None else f"{100 * r:.1f}%"


def _filters(report: ComparisonReport) -> str:
    pairs = dict.fromkeys((s.task, s.filter) for s in report.summaries)
    return "; ".join(f"{t}: `{f}`" for t, f in pairs)


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    # lm-eval's make_table style: pipes, a ':'-aligned separator row.
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["|" + "|".join(header) + "|", "|" + "|".join(sep) + "|"]
    lines += ["|" + "|".join(r) + "|" for r in rows]
    return "\n".join(lines)


def runs_table(report: ComparisonReport) -> str:
    header = ["Run", "Task", "Metric", "Filter", "Aggregation", "n", "Value", _ci(report.confidence), "CI"]
    header += ["Stderr", "Clustered SE", "Truncated"]
    rows = [
        [
            s.label,
            s.task,
            s.metric,
            s.filter,
            s.aggregation,
            str(s.n),
            _f(s.mean),
            f"[{_f(s.ci_low)}, {_f(s.ci_high)}]",
            s.ci_method,
            _f(s.stderr),
            _cluster_cell(s.clustered_stderr, s.n_clusters),
            _rate(s.truncated_rate),
        ]
        for s in report.summaries
    ]
    return _table(header, rows, "lllllrrllrlr")


def _cluster_cell(se: float | None, n_clusters: int | None) -> str:
    return "—" if se is None else f"{_f(se)} ({n_clusters} clusters)"


def comparisons_table(report: ComparisonReport) -> str:
    adj = "Holm" if report.correction == "holm" else "BH"
    header = [
        "Task",
        "Metric",
        "Filter",
        "A",
        "B",
        "n",
        "Mean A",
        "Mean B",
        "Diff (B−A)",
        _ci(report.confidence),
        "Test",
        "p",
        f"p ({adj})",
        "MDD",
        "",
    ]
    rows = [
        [
            c.task,
            c.metric,
            c.filter,
            c.a,
            c.b,
            str(c.n),
            _f(c.mean_a),
            _f(c.mean_b),
            f"{c.diff:+.4f}",
            f"[{_f(c.ci_low)}, {_f(c.ci_high)}]",
            c.test,
            _p(c.p_value),
            _p(c.p_adjusted),
            _f(c.mdd),
            _marks(c),
        ]
        for c in report.comparisons
    ]
    return _table(header, rows, "lllllrrrrllrrrl")


def _marks(c: Comparison) -> str:
    return (
        ("*" if c.significant else "")
        + ("!" if c.underpowered and c.diff != 0 else "")
        + ("?" if not c.resolved else "")
    )


def markdown_tables(report: ComparisonReport) -> str:
    """What `dq compare` prints on stdout."""
    return "\n\n".join(
        [
            runs_table(report),
            comparisons_table(report),
            f"Filters: {_filters(report)}. `*` adjusted p < {report.alpha}; `!` |diff| below the minimum "
            f"detectable difference (MDD: 80% power at alpha / {len(report.comparisons)} comparisons), "
            "or no outcome could be significant (MDD —); `?` Monte-Carlo p too close to call. "
            "p below 1e-4 is printed as < 1e-4.",
        ]
    )


def _methods(report: ComparisonReport) -> list[str]:
    conf = _ci(report.confidence)
    mcn = "mid-p" if report.mid_p else "exact"
    return [
        f"- alpha {report.alpha}: every interval is a {conf}; seed {report.seed}; "
        f"{report.iterations} bootstrap/permutation draws (more, adaptively, where a Monte-Carlo p-value "
        "was too close to its adjusted threshold)",
        f"- 0/1 metrics: Wilson {conf} per run; Tango score {conf} for the paired difference (widened to 0 "
        f"where the {mcn} McNemar test does not reject); {mcn} McNemar test",
        f"- continuous metrics: studentized bootstrap {conf}s per run; paired t-test and the t interval it "
        "inverts (sign-flip permutation as a check); every difference the same: a worst-case score test, p ≥ 2/2^n",
        "- docs with `cluster_id`: clusters are resampled and sign-flipped whole (cluster bootstrap per run, "
        "cluster sign-flip test and the interval inverting it; cluster-robust t as a check)",
        "- a star and its interval agree: the interval excludes 0 exactly when the unadjusted p < alpha; "
        "[0, 1] metrics: every interval inside the range",
        "- other lm-eval aggregations (perplexity, ...): the run value is lm-eval's own aggregate; "
        "percentile bootstrap of the aggregate and a swap permutation test",
        f"- filters: {_filters(report)}",
    ]


def report_markdown(report: ComparisonReport, plots: list[str]) -> str:
    adj = "Holm (FWER)" if report.correction == "holm" else "Benjamini–Hochberg (FDR)"
    parts = [
        "# dq compare report",
        f"- runs: {', '.join(f'`{r.label}` ({r.path})' for r in report.runs)}",
        f"- pairs: {'each run vs `' + report.baseline + '`' if report.baseline else 'all pairs'}",
        f"- multiple comparisons: {adj} over all {len(report.comparisons)} comparisons",
        *_methods(report),
        "\n## Runs\n",
        runs_table(report),
        "\n## Comparisons\n",
        markdown_tables(report).split("\n\n", 1)[1],
    ]
    if report.notes:
        parts += ["\n## Notes\n"] + [f"- {n}" for n in report.notes]
    if plots:
        parts += ["\n## Plots\n"] + [f"![{p}]({p})" for p in plots]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------
# CSV / JSON
# --------------------------------------------------------------------------


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


def write_json(report: ComparisonReport, path: Path) -> None:
    path.write_text(json.dumps(comparison_records(report), indent=2) + "\n", encoding="utf-8")


def write_csv(report: ComparisonReport, path: Path) -> None:
    records = comparison_records(report)
    fields = list(records[0]) if records else CORE_FIELDS
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in records)


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


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
        ax.set_title(f"filters: {_filters(report)}".replace("`", ""), fontsize=8)
    ax.set_ylim(-1, rows)
    ax.set_xlabel(f"difference (B − A), {_ci(report.confidence)}", fontsize=8)
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


# --------------------------------------------------------------------------
# Atomic output directory
# --------------------------------------------------------------------------


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
