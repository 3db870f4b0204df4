"""Result objects of `dq compare` (scipy.stats style: statistic, pvalue, confidence_interval())."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from harness_ext.compare.stats import ConfidenceInterval


@dataclass(frozen=True)
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

    def confidence_interval(self) -> ConfidenceInterval:
        return ConfidenceInterval(self.ci_low, self.ci_high)


@dataclass(frozen=True)
class RunSummary(_Interval):
    """One run's value on one (task, metric, filter) with its CI at level `confidence`.

    `mean` is the run's value as lm-eval aggregates the metric (`aggregation`): the mean for
    acc/exact_match/F1, exp(-mean log-likelihood) for perplexity, and so on.
    """

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
    aggregation: str = "mean"
    confidence: float = 0.95
    truncated_rate: float | None = None  # solver calls stopped by max_gen_toks; None: unknown

    @property
    def statistic(self) -> float:
        return self.mean

    @property
    def value(self) -> float:
        return self.mean


@dataclass(frozen=True)
class PairedTest(_Interval):
    """One pair's test of b - a = 0 and the interval for b - a, as its method gives them.

    scipy style: `statistic` (the test's own: z, t, share of discordant pairs won by b...),
    `pvalue`, `confidence_interval()`. analysis.py makes one per pair and builds the
    `Comparison` from it once.
    """

    test: str
    pvalue: float
    ci_low: float
    ci_high: float
    ci_method: str
    statistic: float = float("nan")
    statistic_name: str = ""
    p_check: float = float("nan")
    check_test: str = ""
    effect_size: float = float("nan")
    effect_size_name: str = ""
    min_p: float = float("nan")
    mdd: float = float("nan")
    detectable: bool = True
    n01: int | None = None
    n10: int | None = None
    n_clusters: int | None = None
    diff_clustered_stderr: float | None = None


@dataclass(frozen=True)
class Comparison(_Interval):
    """One paired comparison b vs a on the same docs.

    `statistic` (= `diff`) is value_b - value_a, the quantity `confidence_interval()` bounds;
    the test's own statistic (z, t, share of discordant pairs won by b...) is
    `test_statistic`, named by `test_statistic_name`, as in scipy's result objects.
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
    p_value: float
    p_adjusted: float = float("nan")
    test_statistic: float = float("nan")
    test_statistic_name: str = ""
    ci_method: str = ""
    confidence: float = 0.95
    aggregation: str = "mean"
    p_check: float = float("nan")  # a second test of the same null (permutation / analytic)
    check_test: str = ""
    resampled: bool = False  # p_value is Monte-Carlo
    draws: int | None = None  # Monte-Carlo draws behind p_value
    resolved: bool = True  # False: draws ran out before the decision at the adjusted threshold was sure
    effect_size: float = float("nan")
    effect_size_name: str = ""
    cohens_d: float = float("nan")
    n01: int | None = None  # a wrong, b right (0/1 metrics only)
    n10: int | None = None  # a right, b wrong
    n_clusters: int | None = None
    diff_stderr: float = float("nan")
    diff_clustered_stderr: float | None = None
    min_p: float = float("nan")  # the smallest p-value any outcome could give
    mdd: float = float("nan")
    power_alpha: float = float("nan")  # the threshold MDD and `detectable` refer to
    detectable: bool = True  # False: no outcome could be significant at power_alpha
    underpowered: bool = False
    significant: bool = False
    truncated_rate_a: float | None = None
    truncated_rate_b: float | None = None

    @property
    def statistic(self) -> float:
        return self.diff

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

    @property
    def confidence(self) -> float:
        return 1 - self.alpha

    def comparison_dicts(self) -> list[dict]:
        return [asdict(c) for c in self.comparisons]
