"""The markdown of `dq compare`: the runs and comparisons tables it prints and report.md."""

from __future__ import annotations

import math

from harness_ext.compare.results import Comparison, ComparisonReport


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


def ci_label(confidence: float) -> str:
    return f"{100 * confidence:g}% CI"


def _rate(r: float | None) -> str:
    return "unknown" if r is None else f"{100 * r:.1f}%"


def filters_line(report: ComparisonReport) -> str:
    pairs = dict.fromkeys((s.task, s.filter) for s in report.summaries)
    return "; ".join(f"{t}: `{f}`" for t, f in pairs)


def _table(header: list[str], rows: list[list[str]], align: str) -> str:
    # lm-eval's make_table style: pipes, a ':'-aligned separator row.
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["|" + "|".join(header) + "|", "|" + "|".join(sep) + "|"]
    lines += ["|" + "|".join(r) + "|" for r in rows]
    return "\n".join(lines)


def runs_table(report: ComparisonReport) -> str:
    header = ["Run", "Task", "Metric", "Filter", "Aggregation", "n", "Value", ci_label(report.confidence), "CI"]
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
        ci_label(report.confidence),
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
            f"Filters: {filters_line(report)}. `*` adjusted p < {report.alpha}; `!` |diff| below the minimum "
            f"detectable difference (MDD: 80% power at alpha / {len(report.comparisons)} comparisons), "
            "or no outcome could be significant (MDD —); `?` Monte-Carlo p too close to call. "
            "p below 1e-4 is printed as < 1e-4.",
        ]
    )


def _methods(report: ComparisonReport) -> list[str]:
    conf = ci_label(report.confidence)
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
        f"- filters: {filters_line(report)}",
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
