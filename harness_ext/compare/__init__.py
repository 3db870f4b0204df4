"""Paired comparison of lm-eval runs: samples/runs/checks (input, through harness_ext.rundir),
aggregate/resample/intervals/power/stats (statistics), setup + pair_tests + analysis (per group,
frozen results), adjust (multiple comparisons), api, report (report_md, report_data, plots), cli."""

from harness_ext.compare.api import Comparison, ComparisonReport, RunSummary, compare_runs

__all__ = ["Comparison", "ComparisonReport", "RunSummary", "compare_runs"]
