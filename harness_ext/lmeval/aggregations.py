"""lm-eval's aggregation registry, read for `dq compare` (the only place it is touched).

A run's metric is whatever lm-eval's aggregation makes of the per-doc values: the mean for
``acc``, ``exp(-mean)`` for ``perplexity``, a corpus-level F1 for ``f1`` when the task says so.
`dq compare` asks here which function that is instead of assuming the mean. Importing the
registry (lm_eval.api.metrics: numpy and sacrebleu, no torch) costs ~30 ms, so a metric whose
task config names the plain ``mean`` does not come here (compare.aggregate.MEAN).
"""

from __future__ import annotations

from collections.abc import Callable


def _registries():
    import lm_eval.api.metrics  # noqa: F401  (registers the built-in aggregations)
    from lm_eval.api.registry import aggregation_registry, metric_agg_registry

    return aggregation_registry, metric_agg_registry


def get_aggregation(name: str) -> Callable | None:
    """lm-eval's aggregation function registered as ``name`` (None if there is none)."""
    aggs, _ = _registries()
    return aggs.get(name, None)


def default_aggregation(metric: str) -> str | None:
    """Name of the aggregation lm-eval uses for ``metric`` when the task config names none."""
    aggs, metric_aggs = _registries()
    fn = metric_aggs.get(metric, None)
    if fn is None:
        return None
    return next((name for name, f in aggs.items() if f is fn), None)
