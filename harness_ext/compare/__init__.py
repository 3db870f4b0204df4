"""Paired comparison of lm-eval runs: load + align (runs), statistics (stats), api, report."""

from harness_ext.compare.api import Comparison, ComparisonReport, RunSummary, compare_runs

__all__ = ["Comparison", "ComparisonReport", "RunSummary", "compare_runs"]
