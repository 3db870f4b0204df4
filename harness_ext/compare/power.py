"""Power and the minimum detectable difference (MDD) at the threshold the stars use.

The threshold is alpha / m for m comparisons in the report: the one the smallest p-value must
beat under Holm and under Benjamini-Hochberg, so "detectable" means "could get a star".

0/1 metrics without clusters: exact power of the exact (or mid-p) McNemar test (Lachin 1992,
Stat Med 11:1239): sum over the number of discordant pairs K ~ Bin(n, psi) of the binomial
rejection probability given K, with the rejection region computed from the same p-values the
test reports. Up to n = EXACT_MAX_N; above that, and for continuous or clustered metrics, the
normal/t approximation (z_(1-a/2) + z_power) * SE. When not even the most extreme outcome
could reach the threshold the MDD is NaN and `detectable` is False.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special

from harness_ext.compare.stats import mcnemar_pvalues

EXACT_MAX_N = 2000
POWER = 0.8


@dataclass(frozen=True)
class Power:
    mdd: float  # NaN when nothing is detectable at 80 % power
    detectable: bool  # False: no possible outcome could be significant
    alpha: float  # the threshold used


def min_p_mcnemar(nd: int, mid_p: bool = False) -> float:
    """Smallest p-value an exact McNemar test can give with nd discordant pairs."""
    if nd == 0:
        return 1.0
    return 0.5**nd if mid_p else min(1.0, 2 * 0.5**nd)


@lru_cache(maxsize=64)
def _critical(n: int, alpha: float, mid_p: bool) -> np.ndarray:
    """c[k]: largest x < k/2 with p(x, k) < alpha (-1 if none), for k = 0..n discordant pairs."""
    crit = np.full(n + 1, -1)
    for k in range(1, n + 1):
        x = np.arange(0, (k + 1) // 2)
        if len(x) == 0:
            continue
        ok = np.nonzero(mcnemar_pvalues(x, k - x, mid_p) < alpha)[0]
        crit[k] = ok[-1] if len(ok) else -1
    return crit


@lru_cache(maxsize=64)
def _log_choose(n: int) -> np.ndarray:
    k = np.arange(n + 1)
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def mcnemar_power(n: int, psi: float, delta: float, alpha: float, mid_p: bool = False) -> float:
    """Exact power for n pairs, discordance probability psi, true difference delta = p01 - p10."""
    if psi <= 0 or n == 0:
        return 0.0
    if psi >= 1:
        k = np.array([n])
    else:  # K ~ Bin(n, psi) has no mass worth a digit beyond 10 SDs of its mean
        sd = math.sqrt(n * psi * (1 - psi))
        k = np.arange(max(0, int(n * psi - 10 * sd - 1)), min(n, int(n * psi + 10 * sd + 1)) + 1)
    crit = _critical(n, alpha, mid_p)[k]
    q = min(1.0, max(0.0, (psi + delta) / (2 * psi)))  # P(a discordant pair favours b)
    c = np.maximum(crit, 0)
    reject = np.where(crit >= 0, special.bdtr(c, k, q) + special.bdtrc(k - c - 1, k, q), 0.0)
    if psi >= 1:
        return float(min(1.0, reject[0]))
    pmf = np.exp(_log_choose(n)[k] + k * math.log(psi) + (n - k) * math.log1p(-psi))
    return float(np.sum(pmf * np.minimum(1.0, reject)))


def mcnemar_mdd(n: int, psi: float, alpha: float, mid_p: bool = False) -> Power:
    """Smallest |p01 - p10| detected with 80 % power, given discordance psi (exact up to EXACT_MAX_N)."""
    if min_p_mcnemar(n, mid_p) >= alpha:
        return Power(float("nan"), False, alpha)
    if not psi > 0:
        return Power(float("nan"), True, alpha)
    if n > EXACT_MAX_N:
        z = float(special.ndtri(1 - alpha / 2) + special.ndtri(POWER))
        mdd = z * math.sqrt(psi / n)
        return Power(mdd if mdd <= psi else float("nan"), True, alpha)
    return Power(*_exact_mdd(n, psi, alpha, mid_p), alpha)


# An evaluated power this far from POWER decides its side for every delta beyond it: power is
# increasing in delta, and its rounding error (a sum of a few hundred binomial tails) is ~1e-13.
_MARGIN = 1e-9


class _Search:
    """Exact power at delta, remembering the deltas already known to be below / above POWER."""

    def __init__(self, n: int, psi: float, alpha: float, mid_p: bool):
        self.args = (n, psi, alpha, mid_p)
        self.below, self.above = 0.0, math.inf  # power(0) is the test's size, far below POWER

    def power(self, delta: float) -> float:
        n, psi, alpha, mid_p = self.args
        p = mcnemar_power(n, psi, delta, alpha, mid_p)
        if p >= POWER + _MARGIN:
            self.above = min(self.above, delta)
        elif p < POWER - _MARGIN:
            self.below = max(self.below, delta)
        return p

    def reaches(self, delta: float) -> bool:
        """power(delta) >= POWER, evaluated only when no known delta implies the answer."""
        if delta >= self.above:
            return True
        if delta <= self.below:
            return False
        return self.power(delta) >= POWER


@lru_cache(maxsize=4096)  # pairs with the same n and discordant count share the answer
def _exact_mdd(n: int, psi: float, alpha: float, mid_p: bool) -> tuple[float, bool]:
    search = _Search(n, psi, alpha, mid_p)
    top = search.power(psi)
    if top < POWER:
        return float("nan"), True  # even "b wins every discordant pair" is too rare
    _locate(search, psi, top, (special.ndtri(1 - alpha / 2) + special.ndtri(POWER)) * math.sqrt(psi / n))
    # The bisection this answer is defined by (30 halvings: psi * 2**-30, far below the printed
    # digits); _locate's evaluations decide all but the steps that land right at the crossing.
    lo, hi = 0.0, psi
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if search.reaches(mid) else (mid, hi)
    return hi, True


def _locate(search: _Search, psi: float, top: float, guess: float) -> None:
    """Find where power crosses POWER (Illinois regula falsi from the normal-approximation guess)
    and evaluate just either side of it, so that the bisection needs few evaluations of its own."""
    a, fa, b, fb = 0.0, -POWER, psi, top - POWER
    x, kept = float(guess), 0  # kept: the end kept last time (-1 a, +1 b), halved when kept twice
    for _ in range(40):
        if not a < x < b:
            x = (a + b) / 2
        fx = search.power(x) - POWER
        if fx < 0:
            a, fa = x, fx
            fb, kept = (fb / 2 if kept == 1 else fb), 1
        else:
            b, fb = x, fx
            fa, kept = (fa / 2 if kept == -1 else fa), -1
        if abs(fx) < _MARGIN / 100 or search.above - search.below < psi * 2**-32:
            break
        x = (a * fb - b * fa) / (fb - fa)
    slope = (fb - fa) / (b - a) if b > a else 0.0
    step = 4 * _MARGIN / slope if slope > 0 else psi * 2**-40
    for _ in range(8):  # widen until both sides of the crossing are decided
        if search.below >= x - step and search.above <= x + step:
            break
        if search.below < x - step:
            search.power(max(0.0, x - step))
        if search.above > x + step:
            search.power(min(psi, x + step))
        step *= 4


def t_mdd(se: float, df: int, alpha: float, min_p: float) -> Power:
    """(t_(1-a/2) + t_power) * SE with df degrees of freedom; min_p: smallest attainable p."""
    if min_p >= alpha:
        return Power(float("nan"), False, alpha)
    if df < 1 or not se > 0:
        return Power(float("nan"), True, alpha)
    q = float(special.stdtrit(df, 1 - alpha / 2) + special.stdtrit(df, POWER))
    return Power(q * se, True, alpha)
