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

References
----------
.. [1] Hull, J. and White, A. (2017) "Optimal delta hedging for options", Journal of
   Banking and Finance 82, 180-190.
.. [2] Wallmeier, M. (2012) "Smile in motion: an intraday analysis of asymmetric implied
   volatility", Algorithmic Finance 4(1-2), 89-104 (2015).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "LEVERAGE_DTE_BUCKETS",
    "LEVERAGE_MONEYNESS_BUCKETS",
    "LeverageBetas",
    "Regression",
    "dte_bucket_index",
    "fit_leverage_betas",
    "moneyness_bucket_index",
    "regress",
]

# Buckets of ln(K / S_{t-1}): the put wing, the put side, the money, the call side and wing.
LEVERAGE_MONEYNESS_BUCKETS = ("K/F<0.90", "0.90-0.98", "0.98-1.02", "1.02-1.10", "K/F>1.10")
_MONEYNESS_EDGES = np.log([0.90, 0.98, 1.02, 1.10])
# Buckets of calendar days to expiry at t.
LEVERAGE_DTE_BUCKETS = ("<=7", "8-30", "31-90", ">90")
_DTE_EDGES = np.array([7, 30, 90])
# A bucket with fewer training pairs than this takes the slope of all pairs.
MIN_BUCKET_PAIRS = 50
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
    bucket; ``pairs`` the number of training pairs behind each. A bucket with fewer than
    :data:`MIN_BUCKET_PAIRS` pairs holds the ``pooled`` slope of all pairs.
    """

    pooled: float
    by_bucket: np.ndarray
    pairs: np.ndarray

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
        }

    @classmethod
    def from_dict(cls, values: dict) -> LeverageBetas:
        return cls(
            float(values["pooled"]),
            np.asarray(values["by_bucket"], float),
            np.asarray(values["pairs"], np.int64),
        )


def fit_leverage_betas(
    iv_change: np.ndarray,
    underlying_return: np.ndarray,
    log_strike_over_spot: np.ndarray,
    dte_days: np.ndarray,
) -> LeverageBetas:
    """Fit the slope of ``iv_change`` on ``underlying_return`` in every bucket.

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

    Returns
    -------
    LeverageBetas
        Slope 0 everywhere when no pair has a usable return (the baseline is then
        practitioner Black-Scholes).
    """
    keep = np.isfinite(iv_change) & np.isfinite(underlying_return)
    keep &= np.isfinite(log_strike_over_spot)
    y, x = iv_change[keep], underlying_return[keep]
    pooled = regress(x, y).slope
    pooled = 0.0 if not np.isfinite(pooled) else pooled
    shape = (len(LEVERAGE_MONEYNESS_BUCKETS), len(LEVERAGE_DTE_BUCKETS))
    by_bucket = np.full(shape, pooled)
    pairs = np.zeros(shape, dtype=np.int64)
    m = moneyness_bucket_index(log_strike_over_spot[keep])
    d = dte_bucket_index(dte_days[keep])
    for i in range(shape[0]):
        for j in range(shape[1]):
            inside = (m == i) & (d == j)
            pairs[i, j] = int(inside.sum())
            if pairs[i, j] >= MIN_BUCKET_PAIRS:
                slope = regress(x[inside], y[inside]).slope
                if np.isfinite(slope):
                    by_bucket[i, j] = slope
    return LeverageBetas(float(pooled), by_bucket, pairs)
