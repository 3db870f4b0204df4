"""Paired comparison of lm-eval runs: samples/runs/checks (input), aggregate/resample/intervals/
power/stats (statistics), analysis (per group), api, report, cli."""

from harness_ext.compare.api import Comparison, ComparisonReport, RunSummary, compare_runs

__all__ = ["Comparison", "ComparisonReport", "RunSummary", "compare_runs"]
