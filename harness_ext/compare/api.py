"""`dq compare`: paired significance tests between lm-eval runs.

    dq compare RUN RUN [RUN ...] [--baseline LABEL] [--labels ...] [--out DIR]
               [--alpha 0.05] [--iterations 10000] [--seed S]
               [--intersect] [--mid-p] [--correction {holm,bh}]

Python API: `compare_runs(...) -> ComparisonReport`, then
`harness_ext.compare.report.write_report(report, out_dir)`.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from harness_ext.compare import stats
from harness_ext.compare.runs import MetricGroup, Run, RunError, align_runs, dedupe_labels, load_run

CORRECTIONS = ("holm", "bh")


@dataclass
class RunInfo:
    label: str
    path: str
    model: str
    decomposer: str | None = None
    solver: str | None = None


class _Interval:
    """scipy.stats-style `confidence_interval()` for results holding ci_low / ci_high."""

    ci_low: float
    ci_high: float

    def confidence_interval(self) -> stats.ConfidenceInterval:
        return stats.ConfidenceInterval(self.ci_low, self.ci_high)


@dataclass
class RunSummary(_Interval):
    """Mean of one run on one (task, metric, filter), with its 95 % CI."""

    label: str
    task: str
    metric: str
    filter: str
    n: int
    mean: float
    ci_low: float
    ci_high: float
    ci_method: str
    stderr: float
    clustered_stderr: float | None = None
    n_clusters: int | None = None

    @property
    def statistic(self) -> float:
        return self.mean


@dataclass
class Comparison(_Interval):
    """One paired comparison b vs a; `diff` = mean_b - mean_a.

    `statistic` is the test's own statistic: for McNemar the share of
    discordant pairs won by b (as scipy.stats.binomtest reports it), for the
    sign-flip test the mean difference. `confidence_interval()` is the paired
    bootstrap CI of `diff`.
    """

    task: str
    metric: str
    filter: str
    a: str
    b: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    test: str
    statistic: float
    p_value: float
    p_adjusted: float = float("nan")
    p_permutation: float = float("nan")
    effect_size: float = float("nan")
    effect_size_name: str = ""
    cohens_d: float = float("nan")
    n01: int | None = None  # a wrong, b right (0/1 metrics only)
    n10: int | None = None  # a right, b wrong
    diff_stderr: float = float("nan")
    diff_clustered_stderr: float | None = None
    mdd: float = float("nan")
    underpowered: bool = False
    significant: bool = False

    @property
    def pvalue(self) -> float:
        return self.p_value


@dataclass
class ComparisonReport:
    runs: list[RunInfo]
    summaries: list[RunSummary]
    comparisons: list[Comparison]
    alpha: float
    correction: str
    iterations: int
    seed: int
    mid_p: bool = False
    baseline: str | None = None
    notes: list[str] = field(default_factory=list)

    def comparison_dicts(self) -> list[dict]:
        return [asdict(c) for c in self.comparisons]


# --------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------


def compare_runs(
    run_paths: list[str | Path],
    labels: list[str] | None = None,
    baseline: str | None = None,
    alpha: float = 0.05,
    iterations: int = 10_000,
    seed: int = 0,
    correction: str = "holm",
    intersect: bool = False,
    mid_p: bool = False,
) -> ComparisonReport:
    """Load, align and compare lm-eval runs; raises RunError on bad input."""
    _check_args(run_paths, labels, alpha, iterations, correction)
    runs = [load_run(p) for p in run_paths]
    names = dedupe_labels(list(labels) if labels else [r.label for r in runs])
    for run, name in zip(runs, names):
        run.label = name
    pairs = _pairs(names, baseline)
    groups, notes = align_runs(runs, intersect=intersect)
    notes = [n for r in runs for n in r.notes] + notes
    summaries: list[RunSummary] = []
    comparisons: list[Comparison] = []
    for group in groups:
        rng = np.random.default_rng([seed, zlib.crc32("\0".join(group.key).encode())])
        s, c = _compare_group(group, names, pairs, alpha, iterations, rng, mid_p)
        summaries += s
        comparisons += c
    _adjust(comparisons, correction, alpha)
    notes += _power_notes(comparisons)
    return ComparisonReport(
        runs=[_run_info(r) for r in runs],
        summaries=summaries,
        comparisons=comparisons,
        alpha=alpha,
        correction=correction,
        iterations=iterations,
        seed=seed,
        mid_p=mid_p,
        baseline=baseline,
        notes=notes,
    )


def _check_args(run_paths, labels, alpha, iterations, correction) -> None:
    if len(run_paths) < 2:
        raise RunError(f"need at least two runs to compare, got {len(run_paths)}")
    if labels is not None and len(labels) != len(run_paths):
        raise RunError(f"--labels gives {len(labels)} labels for {len(run_paths)} runs")
    if not 0 < alpha < 1:
        raise RunError(f"--alpha must be between 0 and 1, got {alpha}")
    if iterations < 1:
        raise RunError(f"--iterations must be positive, got {iterations}")
    if correction not in CORRECTIONS:
        raise RunError(f"--correction must be one of {', '.join(CORRECTIONS)}")


def _pairs(names: list[str], baseline: str | None) -> list[tuple[int, int]]:
    """(a, b) index pairs: everything vs the baseline, else all pairs."""
    if baseline is None:
        return list(itertools.combinations(range(len(names)), 2))
    if baseline not in names:
        raise RunError(f"unknown baseline label {baseline!r}; labels are: {', '.join(names)}")
    base = names.index(baseline)
    return [(base, j) for j in range(len(names)) if j != base]


def _run_info(run: Run) -> RunInfo:
    return RunInfo(run.label, str(run.path), run.model, run.decomposer, run.solver)


def _compare_group(
    group: MetricGroup,
    names: list[str],
    pairs: list[tuple[int, int]],
    alpha: float,
    iterations: int,
    rng: np.random.Generator,
    mid_p: bool,
) -> tuple[list[RunSummary], list[Comparison]]:
    # One shared resampling of docs for all runs: pair differences of the
    # bootstrap means are then paired bootstrap draws of the difference.
    boot = stats.bootstrap_means(group.values, iterations, rng)
    summaries = [_summary(group, name, group.values[r], boot[:, r], alpha) for r, name in enumerate(names)]
    ia = np.array([a for a, _ in pairs])
    ib = np.array([b for _, b in pairs])
    lo, hi = stats.percentile_ci(boot[:, ib] - boot[:, ia], alpha)
    diffs = group.values[ib] - group.values[ia]  # (pairs, n)
    if group.binary:
        tests = _binary_tests(group.values[ia], group.values[ib], mid_p)
    else:
        p_perm = stats.sign_flip_pvalues(diffs.T, iterations, rng)
        tests = [("permutation (sign-flip)", float(d.mean()), p, p) for d, p in zip(diffs, p_perm)]
    comparisons = []
    for k, (a, b) in enumerate(pairs):
        comparisons.append(_comparison(group, names, a, b, diffs[k], lo[k], hi[k], tests[k], alpha))
    return summaries, comparisons


def _summary(group: MetricGroup, label: str, values, boot_col, alpha: float) -> RunSummary:
    m = stats.mean_ci(values, alpha, boot_means=boot_col, clusters=group.clusters, binary=group.binary)
    return RunSummary(
        label,
        group.task,
        group.metric,
        group.filter,
        m.n,
        m.statistic,
        m.ci_low,
        m.ci_high,
        m.method,
        m.stderr,
        m.clustered_stderr,
        m.n_clusters,
    )


def _binary_tests(a: np.ndarray, b: np.ndarray, mid_p: bool) -> list[tuple]:
    """McNemar for every pair at once; a, b are (pairs, n) 0/1 matrices."""
    a, b = a > 0.5, b > 0.5
    n01, n10 = np.sum(~a & b, axis=1), np.sum(a & ~b, axis=1)
    p = stats.mcnemar_pvalues(n01, n10, mid_p)
    # For 0/1 data the sign-flip distribution is binomial, so the permutation
    # p-value is computed exactly rather than sampled.
    p_perm = stats.sign_flip_binary_exact(n01, n10)
    nd = n01 + n10
    share = np.divide(n01, nd, out=np.full(len(nd), np.nan), where=nd > 0)
    name = "mcnemar (mid-p)" if mid_p else "mcnemar (exact)"
    return [(name, share[k], p[k], p_perm[k], int(n01[k]), int(n10[k])) for k in range(len(nd))]


def _comparison(group, names, a, b, d, lo, hi, test, alpha) -> Comparison:
    n = len(d)
    name, statistic, p, p_perm = test[:4]
    c = Comparison(
        task=group.task,
        metric=group.metric,
        filter=group.filter,
        a=names[a],
        b=names[b],
        n=n,
        mean_a=float(group.values[a].mean()),
        mean_b=float(group.values[b].mean()),
        diff=float(d.mean()),
        ci_low=float(lo),
        ci_high=float(hi),
        test=name,
        statistic=float(statistic),
        p_value=float(p),
        p_permutation=float(p_perm),
        cohens_d=stats.cohens_dz(d),
        diff_stderr=float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
    )
    if group.binary:
        c.n01, c.n10 = test[4], test[5]
        c.effect_size_name = "discordant odds ratio (n01/n10)"
        c.effect_size = stats.discordant_odds_ratio(c.n01, c.n10)
        c.mdd = stats.mdd_paired_binary(n, (c.n01 + c.n10) / n, alpha)
    else:
        c.effect_size_name, c.effect_size = "cohen's d (paired)", c.cohens_d
        c.mdd = stats.mdd_paired(n, float(d.std(ddof=1)) if n > 1 else float("nan"), alpha)
    if group.clusters is not None:
        c.diff_clustered_stderr = stats.clustered_stderr(d, group.clusters)[0]
    # Underpowered: even a true difference this large would be missed >20 % of the time.
    c.underpowered = bool(np.isfinite(c.mdd) and abs(c.diff) < c.mdd)
    return c


def _adjust(comparisons: list[Comparison], correction: str, alpha: float) -> None:
    """Multiple-comparison adjustment over every comparison in the report."""
    adjusted = stats.adjust_pvalues(np.array([c.p_value for c in comparisons]), correction)
    for c, p in zip(comparisons, adjusted):
        c.p_adjusted = float(p)
        c.significant = bool(p < alpha)


def _power_notes(comparisons: list[Comparison]) -> list[str]:
    weak = [c for c in comparisons if c.underpowered and c.diff != 0]
    notes = []
    for c in weak[:10]:
        notes.append(
            f"underpowered: {c.task}/{c.metric} {c.b} vs {c.a}: n={c.n} can only reliably "
            f"detect |diff| >= {c.mdd:.4f} (80% power), observed {c.diff:+.4f}"
        )
    if len(weak) > 10:
        notes.append(f"... and {len(weak) - 10} more underpowered comparisons (see report)")
    return notes


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dq compare",
        description="Paired significance tests between lm-eval runs written with --log_samples.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="lm-eval output dir or results_*.json")
    p.add_argument("--baseline", metavar="LABEL", help="compare every run against this one")
    p.add_argument("--labels", nargs="+", metavar="LABEL", help="one label per RUN")
    p.add_argument("--out", metavar="DIR", help="write report.md, comparisons.csv/.json, plots")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--iterations", type=int, default=10_000, help="bootstrap/permutation draws")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--intersect", action="store_true", help="compare only the docs all runs share")
    p.add_argument("--mid-p", action="store_true", help="mid-p McNemar instead of exact")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the message
        return int(exc.code or 0)
    from harness_ext.compare import report as rep  # matplotlib is only needed past here

    try:
        result = compare_runs(
            args.runs,
            labels=args.labels,
            baseline=args.baseline,
            alpha=args.alpha,
            iterations=args.iterations,
            seed=args.seed,
            correction=args.correction,
            intersect=args.intersect,
            mid_p=args.mid_p,
        )
        for note in result.notes:
            print(f"dq compare: note: {note}", file=sys.stderr)
        print(rep.markdown_tables(result))
        if args.out:
            rep.write_report(result, args.out)
            print(f"dq compare: wrote report to {args.out}", file=sys.stderr)
    except (RunError, rep.ReportError) as exc:
        print(f"dq compare: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
