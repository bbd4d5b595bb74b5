"""How implied vols move with the underlying: the buckets, the least-squares slope, and
the per-bucket slopes the ``leverage_bs`` baseline prices with.

A contract's implied vol falls when the underlying rises and rises when it falls (the
leverage effect of index options). Over a day, with :math:`r_t = \\ln(S_t/S_{t-1})`,

.. math::

   \\sigma_t - \\sigma_{t-1} = a_b + \\beta_b \\, r_t + \\varepsilon_t ,

fitted by ordinary least squares per bucket :math:`b` of moneyness :math:`\\ln(K/F_{t-1})`
and days to expiry. The ``leverage_bs`` baseline prices at :math:`\\sigma_{t-1} +
\\beta_b r_t`: the expected vol change given the return, which Hull and White (2017) build
their minimum-variance delta on; the intercept, a drift of the training period, is left
out. Fixed-strike implied vols of the S&P 500 react more strongly than a sticky-strike rule
says, and short maturities more than long ones (Wallmeier 2012), so one slope per bucket.

**The days are the sample.** Every pair of a day shares that day's return, so a bucket of
300 pairs from four days holds four observations of the slope: on a real two-month SPXW
chain, buckets of 75 and 98 pairs from the last days of an expiry fitted slopes of +11
and -58 where the chain's own was about -1.3. Each bucket's slope therefore
comes with its variance clustered by day (the sandwich of Liang & Zeger 1986, with the
small-sample factor :math:`G/(G-1)` for :math:`G` days), and the slopes are shrunk toward
their common mean by empirical Bayes, the random-effects estimate of DerSimonian & Laird
(1986):

.. math::

   \\tilde\\beta_b = \\mu + \\frac{\\tau^2}{\\tau^2 + V_b} (\\hat\\beta_b - \\mu), \\qquad
   \\mu = \\frac{\\sum_b \\hat\\beta_b / (V_b + \\tau^2)}{\\sum_b 1 / (V_b + \\tau^2)},

with :math:`\\tau^2 = \\max\\bigl(0, (Q - k + 1) / (\\sum w - \\sum w^2 / \\sum w)\\bigr)`,
:math:`w = 1/V_b`, :math:`Q = \\sum w (\\hat\\beta_b - \\hat\\beta_w)^2` and
:math:`\\hat\\beta_w = \\sum w \\hat\\beta_b / \\sum w` over the :math:`k` buckets
fitted. A bucket measured over many days keeps its own slope (the buckets differ
genuinely, so :math:`\\tau^2` is large); one seen on a few days moves to :math:`\\mu`; a
bucket with fewer than :data:`MIN_BUCKET_PAIRS` pairs or :data:`MIN_BUCKET_DAYS` days
takes :math:`\\mu` (the slope of all pairs while no bucket qualifies).

References
----------
.. [1] Hull, J. and White, A. (2017) "Optimal delta hedging for options", Journal of
   Banking and Finance 82, 180-190.
.. [2] Wallmeier, M. (2012) "Smile in motion: an intraday analysis of asymmetric implied
   volatility", Algorithmic Finance 4(1-2), 89-104 (2015).
.. [3] Liang, K.-Y. and Zeger, S. L. (1986) "Longitudinal data analysis using generalized
   linear models", Biometrika 73(1), 13-22.
.. [4] DerSimonian, R. and Laird, N. (1986) "Meta-analysis in clinical trials",
   Controlled Clinical Trials 7(3), 177-188.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "LEVERAGE_DTE_BUCKETS",
    "LEVERAGE_MONEYNESS_BUCKETS",
    "LeverageBetas",
    "Regression",
    "clustered_slope",
    "dte_bucket_index",
    "fit_leverage_betas",
    "moneyness_bucket_index",
    "regress",
    "shrink_to_common",
]

# Buckets of ln(K / S_{t-1}): the put wing, the put side, the money, the call side and wing.
LEVERAGE_MONEYNESS_BUCKETS = ("K/F<0.90", "0.90-0.98", "0.98-1.02", "1.02-1.10", "K/F>1.10")
_MONEYNESS_EDGES = np.log([0.90, 0.98, 1.02, 1.10])
# Buckets of calendar days to expiry at t.
LEVERAGE_DTE_BUCKETS = ("<=7", "8-30", "31-90", ">90")
_DTE_EDGES = np.array([7, 30, 90])
# A bucket with fewer training pairs, or pairs on fewer days, than these takes the
# buckets' common slope.
MIN_BUCKET_PAIRS = 50
MIN_BUCKET_DAYS = 5
# A slope's variance is floored at this share of the largest one of its set (and at
# _SMALLEST_VARIANCE): an exact fit weighs a trillion times the noisiest, not infinitely.
MIN_RELATIVE_VARIANCE = 1e-12
_SMALLEST_VARIANCE = 1e-300
# Implied vols outside this range are solver failures, not vols that moved.
VALID_IV = (0.01, 3.0)


def moneyness_bucket_index(log_strike_over_spot: np.ndarray) -> np.ndarray:
    """Index into :data:`LEVERAGE_MONEYNESS_BUCKETS` of each ``ln(K/F)``."""
    return np.searchsorted(_MONEYNESS_EDGES, np.asarray(log_strike_over_spot, float), "right")


def dte_bucket_index(dte_days: np.ndarray) -> np.ndarray:
    """Index into :data:`LEVERAGE_DTE_BUCKETS` of each count of days to expiry."""
    return np.searchsorted(_DTE_EDGES, np.asarray(dte_days, float), "left")


@dataclass(frozen=True)
class Regression:
    """``y = intercept + slope x + e`` by least squares: ``r2`` is the share of the
    variance of ``y`` explained, ``residual_sd`` the standard deviation of ``e`` (with
    ``n - 2`` degrees of freedom); all NaN with fewer than 3 points or a constant ``x``."""

    slope: float
    intercept: float
    r2: float
    residual_sd: float
    n: int

    def to_dict(self) -> dict[str, float | int | None]:
        """The fields, a NaN as None (JSON has no NaN)."""
        values = {"slope": self.slope, "intercept": self.intercept, "r2": self.r2,
                  "residual_sd": self.residual_sd}  # fmt: skip
        return {**{k: v if np.isfinite(v) else None for k, v in values.items()}, "n": self.n}


def regress(x: np.ndarray, y: np.ndarray) -> Regression:
    """Ordinary least squares of ``y`` on ``x`` with an intercept, over the finite pairs."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = len(x)
    nan = float("nan")
    if n < 3:
        return Regression(nan, nan, nan, nan, n)
    dx, dy = x - x.mean(), y - y.mean()
    sxx = float(dx @ dx)
    if sxx <= 0:
        return Regression(nan, nan, nan, nan, n)
    slope = float(dx @ dy) / sxx
    residual = dy - slope * dx
    syy = float(dy @ dy)
    sse = float(residual @ residual)
    return Regression(
        slope=slope,
        intercept=float(y.mean() - slope * x.mean()),
        r2=1.0 - sse / syy if syy > 0 else nan,
        residual_sd=float(np.sqrt(sse / (n - 2))),
        n=n,
    )


@dataclass(frozen=True)
class LeverageBetas:
    """The slopes :math:`\\beta_b` of the vol change on the return, per bucket.

    ``by_bucket`` has one row per moneyness bucket and one column per days-to-expiry
    bucket, shrunk toward ``pooled`` (the buckets' common slope :math:`\\mu`, see the
    module); ``pairs`` and ``days`` count the training pairs and their days behind each.
    A bucket with fewer than :data:`MIN_BUCKET_PAIRS` pairs or :data:`MIN_BUCKET_DAYS`
    days holds ``pooled``.
    """

    pooled: float
    by_bucket: np.ndarray
    pairs: np.ndarray
    days: np.ndarray

    def beta(self, log_strike_over_spot: np.ndarray, dte_days: np.ndarray) -> np.ndarray:
        """The slope of each contract's bucket."""
        return self.by_bucket[
            moneyness_bucket_index(log_strike_over_spot), dte_bucket_index(dte_days)
        ]

    def to_dict(self) -> dict:
        return {
            "pooled": self.pooled,
            "moneyness_buckets": list(LEVERAGE_MONEYNESS_BUCKETS),
            "dte_buckets": list(LEVERAGE_DTE_BUCKETS),
            "by_bucket": self.by_bucket.tolist(),
            "pairs": self.pairs.tolist(),
            "days": self.days.tolist(),
        }

    @classmethod
    def from_dict(cls, values: dict) -> LeverageBetas:
        pairs = np.asarray(values["pairs"], np.int64)
        # Cards written before the days were counted have no "days": unknown, so zero.
        days = np.asarray(values.get("days", np.zeros_like(pairs)), np.int64)
        return cls(float(values["pooled"]), np.asarray(values["by_bucket"], float), pairs, days)


def clustered_slope(x: np.ndarray, y: np.ndarray, cluster: np.ndarray) -> tuple[float, float]:
    """The least-squares slope of ``y`` on ``x`` (with an intercept) and its variance
    clustered by ``cluster`` (values equal within a cluster):
    :math:`\\frac{G}{G-1} \\sum_g (\\sum_{i \\in g} \\tilde x_i e_i)^2 / (\\sum \\tilde x^2)^2`,
    :math:`\\tilde x` centred, :math:`e` the residuals, :math:`G` the clusters; NaN for a
    constant ``x`` or a single cluster."""
    dx = x - x.mean()
    sxx = float(dx @ dx)
    groups, codes = np.unique(cluster, return_inverse=True)
    if sxx <= 0 or len(groups) < 2:
        return float("nan"), float("nan")
    slope = float(dx @ (y - y.mean())) / sxx
    residual = y - y.mean() - slope * dx
    score = np.bincount(codes, weights=dx * residual, minlength=len(groups))
    g = len(groups)
    return slope, g / (g - 1) * float(score @ score) / sxx**2


def shrink_to_common(slopes: np.ndarray, variances: np.ndarray) -> tuple[np.ndarray, float]:
    """DerSimonian & Laird's random-effects mean :math:`\\mu` of ``slopes`` with sampling
    ``variances``, and each slope shrunk toward it by :math:`\\tau^2 / (\\tau^2 + V)`
    (the module's formula). One slope is returned as it is, and is its own mean.

    A variance of zero (a bucket fitted exactly) is floored at :data:`MIN_RELATIVE_VARIANCE`
    times the largest, so that its weight is finite and the sums below cannot overflow:
    it then all but fixes the fixed-effect mean, and the spread of the others about it
    sets :math:`\\tau^2`."""
    if len(slopes) == 1:
        return slopes.copy(), float(slopes[0])
    largest = max(float(np.max(variances)), _SMALLEST_VARIANCE)
    variances = np.maximum(variances, max(MIN_RELATIVE_VARIANCE * largest, _SMALLEST_VARIANCE))
    w = 1.0 / variances
    total = float(w.sum())
    share = w / total
    fixed = float(share @ slopes)
    q = float(w @ (slopes - fixed) ** 2)
    scale = total * (1.0 - float(share @ share))  # sum w - sum w^2 / sum w
    tau2 = max(0.0, (q - (len(slopes) - 1)) / scale) if scale > 0 else 0.0
    random = 1.0 / (variances + tau2)
    mean = float(random @ slopes / random.sum())
    return mean + tau2 / (tau2 + variances) * (slopes - mean), mean


def fit_leverage_betas(
    iv_change: np.ndarray,
    underlying_return: np.ndarray,
    log_strike_over_spot: np.ndarray,
    dte_days: np.ndarray,
    day: np.ndarray,
) -> LeverageBetas:
    """Fit the slope of ``iv_change`` on ``underlying_return`` in every bucket, shrunk
    toward the buckets' common slope by its day-clustered precision (see the module).

    Parameters
    ----------
    iv_change : ndarray
        :math:`\\sigma_t - \\sigma_{t-1}` of each pair (a contract quoted on two consecutive
        trading days); NaN pairs are left out.
    underlying_return : ndarray
        :math:`\\ln(S_t/S_{t-1})` of each pair.
    log_strike_over_spot : ndarray
        :math:`\\ln(K/F_{t-1})` (at the ``t-1`` forward).
    dte_days : ndarray
        Calendar days to expiry at :math:`t`.
    day : ndarray
        The day :math:`t` of each pair (any values that are equal on the same day); a
        pair without one (NaN, NaT, None) is left out.

    Returns
    -------
    LeverageBetas
        Slope 0 everywhere when no pair has a usable return (the baseline is then
        practitioner Black-Scholes).

    Raises
    ------
    ValueError
        If the arrays are not all of one length.
    """
    lengths = {len(a) for a in (iv_change, underlying_return, log_strike_over_spot, dte_days, day)}
    if len(lengths) > 1:
        raise ValueError(
            "fit_leverage_betas: iv_change, underlying_return, log_strike_over_spot, "
            f"dte_days and day must have one length, got {sorted(lengths)}"
        )
    keep = np.isfinite(iv_change) & np.isfinite(underlying_return)
    keep &= np.isfinite(log_strike_over_spot) & ~pd.isna(np.asarray(day))
    y, x = iv_change[keep], underlying_return[keep]
    day = pd.factorize(np.asarray(day)[keep])[0]
    pooled = regress(x, y).slope
    pooled = 0.0 if not np.isfinite(pooled) else pooled
    shape = (len(LEVERAGE_MONEYNESS_BUCKETS), len(LEVERAGE_DTE_BUCKETS))
    pairs = np.zeros(shape, dtype=np.int64)
    days = np.zeros(shape, dtype=np.int64)
    m = moneyness_bucket_index(log_strike_over_spot[keep])
    d = dte_bucket_index(dte_days[keep])
    fitted, slopes, variances = [], [], []
    for i in range(shape[0]):
        for j in range(shape[1]):
            inside = (m == i) & (d == j)
            pairs[i, j] = int(inside.sum())
            days[i, j] = len(np.unique(day[inside]))
            if pairs[i, j] >= MIN_BUCKET_PAIRS and days[i, j] >= MIN_BUCKET_DAYS:
                slope, variance = clustered_slope(x[inside], y[inside], day[inside])
                if np.isfinite(slope) and np.isfinite(variance):
                    fitted.append((i, j))
                    slopes.append(slope)
                    variances.append(variance)
    by_bucket = np.full(shape, pooled)
    if fitted:
        shrunk, pooled = shrink_to_common(np.array(slopes), np.array(variances))
        by_bucket[:] = pooled
        for (i, j), slope in zip(fitted, shrunk, strict=True):
            by_bucket[i, j] = slope
    return LeverageBetas(float(pooled), by_bucket, pairs, days)
