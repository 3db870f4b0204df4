"""Which of lm-eval's aggregations `dq compare` can resample, and how.

Every aggregation supported here is a smooth function of one or two per-doc component means,
so bootstrap and permutation draws of it come from the same count-matrix products as the
mean (see resample.py): perplexity = exp(-mean(ll)), weighted_perplexity =
exp(-sum(ll)/sum(w)), bits_per_byte = -sum(ll)/sum(w)/ln 2. Run values themselves are always
computed with lm-eval's own function (`lmeval_value`). Anything else (corpus F1, BLEU, MCC,
median) is left out of the report with a note naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from harness_ext.lmeval.aggregations import default_aggregation, get_aggregation

Kind = Literal["mean", "perplexity", "weighted_perplexity", "bits_per_byte"]
KINDS: dict[str, Kind] = {
    "mean": "mean",
    "perplexity": "perplexity",
    "weighted_perplexity": "weighted_perplexity",
    "bits_per_byte": "bits_per_byte",
}


@dataclass(frozen=True)
class Aggregation:
    """lm-eval's aggregation of one metric, as far as dq compare needs it."""

    name: str  # lm-eval's registered name
    kind: Kind
    fn: Callable = lambda items: float("nan")  # lm-eval's own function

    @property
    def components(self) -> int:
        """Per-doc numbers per item: 1, or 2 for (log-likelihood, weight) pairs."""
        return 2 if self.kind in ("weighted_perplexity", "bits_per_byte") else 1


def _mean(items: list) -> float:
    """lm-eval's registered ``mean``, verbatim (lm_eval.api.metrics.mean)."""
    return sum(items) / len(items)


# The plain mean needs no lookup: importing lm-eval's metric registry costs ~30 ms (sacrebleu)
# on every `dq compare`, for a function that is one line.
MEAN = Aggregation("mean", "mean", _mean)


def resolve(metric: str, configured: object) -> Aggregation | str:
    """The Aggregation of ``metric`` from the task config's ``aggregation`` (or lm-eval's default).

    Returns a note (str) when dq compare cannot resample that aggregation.
    """
    name = configured if isinstance(configured, str) else None
    if configured is None:
        name = default_aggregation(metric)
        if name is None:
            return f"metric {metric!r}: lm-eval registers no aggregation for it and the task config names none"
    if name is None or name not in KINDS:
        shown = name or repr(configured)[:60]
        return (
            f"metric {metric!r}: lm-eval aggregates it with {shown!r}, which dq compare cannot "
            "resample per doc; left out"
        )
    if name == "mean":
        return MEAN
    fn = get_aggregation(name)
    if fn is None:
        return f"metric {metric!r}: aggregation {name!r} is not registered in this lm-eval; left out"
    return Aggregation(name, KINDS[name], fn)


def apply(kind: Kind, m1: np.ndarray, m2: np.ndarray | None = None) -> np.ndarray:
    """The aggregate as a function of (resampled) component means; vectorised."""
    if kind == "mean":
        return m1
    if kind == "perplexity":
        return np.exp(-m1)
    assert m2 is not None
    ratio = m1 / m2
    return np.exp(-ratio) if kind == "weighted_perplexity" else -ratio / math.log(2)


def lmeval_value(agg: Aggregation, values: np.ndarray) -> float:
    """The run's value by lm-eval's own function; values is (n,) or (n, 2)."""
    if agg.kind == "mean":
        return float(np.mean(values))  # lm-eval's mean is sum/len; float64 mean is the same number
    items = [tuple(v) for v in values.tolist()] if values.ndim == 2 else values.tolist()
    return float(agg.fn(items))
