"""Random-effects meta-analysis of paired differences across cells (pure numpy/scipy, no I/O).

`random_effects(effects, covariance)` pools k per-cell effects y_i (e.g. Δ = decomposer −
reference on one (solver, task) cell) whose sampling covariance is V (k x k):

- tau^2 by DerSimonian & Laird (1986) or REML (Viechtbauer 2005, Fisher scoring);
- the pooled effect mu = 1'W y / 1'W 1 with W = (V + tau^2 I)^-1;
- its interval by Hartung & Knapp (2001) / Sidik & Jonkman (2002): the weighted residual
  variance (y - mu)'W(y - mu) / (k - 1) scales 1 / 1'W 1, and the quantile is t_{k-1}. With few
  cells the normal (Wald) interval undercovers badly (IntHout et al. 2014); HK does not. The
  scale is floored at 1 (the "modified" HK of Knapp & Hartung 2003, Röver et al. 2015): when
  the cells agree more closely than their SEs imply (Q < k - 1) plain HK is narrower than even
  the fixed-effect interval, which is how four cells with CIs of +-0.05 gave a pooled +-0.005;
- Cochran's Q = (y - mu_FE)'V^-1(y - mu_FE) on k - 1 df, I^2 = (Q - df) / Q (Higgins &
  Thompson 2002), tau^2.

Cells that share docs (two solvers on one task) are not independent: their covariance enters
V off the diagonal (from the per-doc paired differences, see `cell_covariance`), which is the
generalised Q / DL of Jackson, White & Thompson (2010); with a diagonal V everything reduces to the
textbook formulas (cross-checked against statsmodels' combine_effects in tests/test_meta.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

from harness_ext.compare.stats import ConfidenceInterval

Tau2Method = Literal["REML", "DL"]


@dataclass(frozen=True)
class MetaResult:
    """A pooled random-effects estimate; `statistic` is the pooled effect, `pvalue` tests it = 0."""

    statistic: float
    stderr: float  # Hartung-Knapp standard error of the pooled effect
    ci_low: float
    ci_high: float
    pvalue: float
    df: int  # k - 1 (rank(V) - 1 when cells duplicate each other)
    tau2: float
    q: float  # Cochran's Q about the fixed-effect estimate
    q_pvalue: float
    i2: float  # share of the variation beyond chance, in [0, 1]
    k: int
    method: str  # e.g. "random effects (REML), Hartung-Knapp t CI"
    confidence: float = 0.95
    weights: tuple[float, ...] = ()  # relative weight of each cell in the pooled estimate

    def confidence_interval(self) -> ConfidenceInterval:
        return ConfidenceInterval(self.ci_low, self.ci_high)


def _t_quantile(df: int, level: float) -> float:
    return float(special.stdtrit(df, 1 - (1 - level) / 2))


def _gls(y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(1'Wy / 1'W1, 1'W1) for a weight matrix W."""
    ones = np.ones(len(y))
    total = float(ones @ w @ ones)
    return float(ones @ w @ y) / total, total


def _inverse(v: np.ndarray) -> np.ndarray:
    # pinv: two cells with (nearly) identical per-doc differences make V singular
    return np.linalg.pinv(v, hermitian=True)


def _projection(w: np.ndarray) -> np.ndarray:
    """P = W - W11'W / 1'W1: the residual-forming matrix of the GLS mean."""
    col = w.sum(axis=1)
    return w - np.outer(col, col) / col.sum()


def tau2_dl(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian-Laird moment estimator, generalised to a full V: (Q - df) / tr(P)."""
    p = _projection(_inverse(v))
    q = float(y @ p @ y)
    df = max(int(np.linalg.matrix_rank(v, hermitian=True)) - 1, 1)
    return max(0.0, (q - df) / float(np.trace(p))) if np.trace(p) > 0 else 0.0


def tau2_reml(y: np.ndarray, v: np.ndarray, start: float | None = None, steps: int = 100) -> float:
    """REML by Fisher scoring: tau^2 += (y'PPy - tr P) / tr(PP), kept >= 0 (Viechtbauer 2005)."""
    tau2 = tau2_dl(y, v) if start is None else start
    eye = np.eye(len(y))
    for _ in range(steps):
        p = _projection(_inverse(v + tau2 * eye))
        py = p @ y
        info = float(np.sum(p * p.T))
        if info <= 0:
            break
        step = (float(py @ py) - float(np.trace(p))) / info
        new = max(0.0, tau2 + step)
        if abs(new - tau2) < 1e-12 * max(1.0, tau2) + 1e-15:
            return new
        tau2 = new
    return tau2


def _checked(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """V with every variance floored just above 0, after rejecting what cannot be a covariance.

    A cell with variance 0 must weigh the most, but the pseudo-inverse gives a zero row/column
    zero weight (it silently dropped the cell from mu_FE and Q), and an all-zero V divided by 0.
    """
    k = len(y)
    if v.shape != (k, k):
        raise ValueError(f"covariance must be ({k},) or ({k}, {k}), got {v.shape}")
    if not (np.isfinite(y).all() and np.isfinite(v).all()):
        raise ValueError("effects and covariance must be finite")
    d = np.diag(v)
    if (d < 0).any():
        raise ValueError(f"variances must be >= 0, got {d.min()}")
    floor = max(1e-10 * float(d.max()), 1e-24)
    return v + np.diag(np.maximum(d, floor) - d)


def random_effects(
    effects: np.ndarray,
    covariance: np.ndarray,
    method: Tau2Method = "REML",
    confidence: float = 0.95,
    modified: bool = True,
    bounds: tuple[float, float] | None = None,
) -> MetaResult:
    """Pool k >= 2 effects with sampling covariance ``covariance`` (a (k,) vector means diagonal).

    ``modified=False`` gives plain Hartung-Knapp (statsmodels' ``sd_eff_w_re_hksj``).
    ``bounds``: the range the true effect lies in (-1, 1 for a difference of [0, 1] scores); the
    interval is clipped to it, which cannot lower its coverage. With 2 cells the t quantile on
    1 df is 12.7, so an unclipped interval of two accuracy differences reached +-2.
    Cells whose covariance is singular (identical per-doc differences) carry rank(V) cells'
    worth of information, so Q and the t quantile use rank(V) - 1 df (at least 1).
    """
    y = np.asarray(effects, dtype=float)
    v = np.asarray(covariance, dtype=float)
    v = np.diag(v) if v.ndim == 1 else v
    k = len(y)
    if k < 2:
        raise ValueError(f"a random-effects pool needs at least 2 cells, got {k}")
    v = _checked(y, v)
    vinv = _inverse(v)
    mu_fe, _ = _gls(y, vinv)
    q = float((y - mu_fe) @ vinv @ (y - mu_fe))
    df = max(int(np.linalg.matrix_rank(v, hermitian=True)) - 1, 1)
    tau2 = tau2_reml(y, v) if method == "REML" else tau2_dl(y, v)
    w = _inverse(v + tau2 * np.eye(k))
    mu, total = _gls(y, w)
    resid = y - mu
    scale = float(resid @ w @ resid) / df  # Hartung-Knapp: the data's own dispersion
    if modified:
        scale = max(scale, 1.0)
    se = float(np.sqrt(max(scale, 0.0) / total))
    half = _t_quantile(df, confidence) * se
    pvalue = float(2 * special.stdtr(df, -abs(mu) / se)) if se > 0 else float(mu == 0)
    low, high = mu - half, mu + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    rel = w.sum(axis=1) / w.sum()
    return MetaResult(
        statistic=mu,
        stderr=se,
        ci_low=low,
        ci_high=high,
        pvalue=pvalue,
        df=df,
        tau2=float(tau2),
        q=q,
        q_pvalue=float(special.chdtrc(df, q)),
        i2=float(max(0.0, (q - df) / q)) if q > 0 else 0.0,
        k=k,
        method=f"random effects ({method}), {'modified ' if modified else ''}Hartung-Knapp t CI on {df} df",
        confidence=confidence,
        weights=tuple(float(x) for x in rel),
    )


def cell_covariance(diffs: list[np.ndarray], groups: list[str], stderrs: np.ndarray) -> np.ndarray:
    """Sampling covariance of cell effects: stderr_i stderr_j rho_ij for cells on the same docs.

    ``diffs[i]`` are cell i's per-doc paired differences and ``groups[i]`` names its doc set
    (the task); cells on different doc sets are independent (rho 0). rho is the per-doc
    correlation of the two cells' differences (0 when either has none to correlate).
    """
    k = len(diffs)
    se = np.asarray(stderrs, dtype=float)
    v = np.diag(se**2)
    for i in range(k):
        for j in range(i + 1, k):
            if groups[i] != groups[j] or len(diffs[i]) != len(diffs[j]):
                continue
            a, b = diffs[i] - diffs[i].mean(), diffs[j] - diffs[j].mean()
            den = float(np.sqrt((a @ a) * (b @ b)))
            rho = float(a @ b) / den if den > 0 else 0.0
            v[i, j] = v[j, i] = rho * se[i] * se[j]
    return v
