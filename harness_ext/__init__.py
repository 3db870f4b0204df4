"""dq-harness: divide-or-conquer reasoning benchmarks for lm-evaluation-harness.

The supported Python API (everything else is internal and may change):

- :class:`TwoStageLM` — the ``two_stage`` lm-eval model (decomposer + solver).
- :func:`compare_runs` — paired tests and intervals over lm-eval runs; returns a
  :class:`ComparisonReport` of :class:`RunSummary` and :class:`Comparison` objects
  (``.statistic``, ``.pvalue``, ``.confidence_interval()``).
- :func:`load_study` and :func:`run_study` — decomposer x solver x task grids.
- :class:`DQError` — the one error type; its message is one actionable line.

Imports are lazy, so ``import harness_ext`` stays cheap (lm-eval's post-import hook uses it).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_API = {
    "TwoStageLM": "harness_ext.lmeval.two_stage",
    "compare_runs": "harness_ext.compare",
    "ComparisonReport": "harness_ext.compare",
    "Comparison": "harness_ext.compare",
    "RunSummary": "harness_ext.compare",
    "load_study": "harness_ext.study.spec",
    "run_study": "harness_ext.study.grid",
    "DQError": "harness_ext.errors",
}

__all__ = [*_API, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'harness_ext' has no attribute {name!r}")
