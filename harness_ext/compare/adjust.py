"""The one multiple-comparison adjuster of `dq compare` and `dq study`: Holm or BH over a family.

`adjust_pvalues` is the arithmetic; `adjust_family` gives each comparison of a family its
adjusted p-value and its star (adjusted p < alpha). `dq compare` calls it on the whole report
once its Monte-Carlo p-values are resolved (api.py); `dq study` calls it again on the
comparisons its spec asks for, which make the study's one Holm family (study/family.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from harness_ext.compare.results import Comparison

CORRECTIONS = ("holm", "bh")


def _adjust_sorted(pvalues: np.ndarray, step) -> np.ndarray:
    """Apply ``step(sorted p, m)`` to the non-NaN p-values and put them back in place."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    if len(q) == 0:
        return out
    order = np.argsort(q, kind="stable")
    res = np.empty(len(q))
    res[order] = step(q[order], len(q))
    out[ok] = res
    return out


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (FWER); NaNs are ignored and kept."""
    return _adjust_sorted(pvalues, lambda q, m: np.minimum(1.0, np.maximum.accumulate(q * (m - np.arange(m)))))


def benjamini_hochberg(pvalues: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (FDR); NaNs are ignored and kept."""
    return _adjust_sorted(
        pvalues, lambda q, m: np.minimum(1.0, np.minimum.accumulate((q * m / np.arange(1, m + 1))[::-1])[::-1])
    )


def adjust_pvalues(pvalues: np.ndarray, method: str = "holm") -> np.ndarray:
    if method == "holm":
        return holm(pvalues)
    if method == "bh":
        return benjamini_hochberg(pvalues)
    raise ValueError(f"unknown correction {method!r} (use 'holm' or 'bh')")


def adjust_family(comparisons: list[Comparison], correction: str, alpha: float) -> list[Comparison]:
    """The comparisons with p_adjusted and significant set over them as one family."""
    adjusted = adjust_pvalues(np.array([c.p_value for c in comparisons], dtype=float), correction)
    return [
        replace(c, p_adjusted=float(p), significant=bool(p < alpha)) for c, p in zip(comparisons, adjusted, strict=True)
    ]
