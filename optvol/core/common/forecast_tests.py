"""Tests and intervals for comparing two forecasts' losses over time.

:func:`diebold_mariano` tests equal expected loss with a Newey-West variance, which
allows the loss differentials to be autocorrelated (overlapping targets, persistent
regimes). :func:`block_bootstrap_rmse_ratio` gives a percentile interval for the ratio of
two RMSEs computed over the same days, resampling whole blocks of consecutive days
(Kuensch 1989), so that a day's rows, which share its move, and neighbouring days,
which share a regime, stay together.

References
----------
.. [1] Diebold, F. X. and Mariano, R. S. (1995) "Comparing predictive accuracy", Journal
   of Business and Economic Statistics 13(3), 253-263.
   Harvey, D., Leybourne, S. and Newbold, P. (1997) "Testing the equality of prediction
   mean squared errors", International Journal of Forecasting 13(2), 281-291.
.. [2] Newey, W. K. and West, K. D. (1987) "A simple, positive semi-definite,
   heteroskedasticity and autocorrelation consistent covariance matrix", Econometrica
   55(3), 703-708; the lag rule of Newey and West (1994), Review of Economic Studies
   61(4), 631-653.
.. [3] Kuensch, H. R. (1989) "The jackknife and the bootstrap for general stationary
   observations", Annals of Statistics 17(3), 1217-1241.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "block_bootstrap_rmse_ratio",
    "diebold_mariano",
    "newey_west_lags",
]


def newey_west_lags(n: int) -> int:
    """The Newey-West (1994) rule of thumb :math:`\\lfloor 4 (n/100)^{2/9} \\rfloor`."""
    return int(np.floor(4.0 * (max(n, 1) / 100.0) ** (2.0 / 9.0)))


def diebold_mariano(
    loss_a: np.ndarray,
    loss_b: np.ndarray,
    lags: int,
    small_sample: bool = False,
    horizon: int = 1,
) -> dict[str, float]:
    """Diebold-Mariano test of equal expected loss.

    ``d_t = L^a_t - L^b_t``; ``DM = mean(d) / sqrt(LRV(d) / n)`` with the Newey-West
    long-run variance over ``lags`` lags (Bartlett weights; ``h - 1`` for overlapping
    ``h``-day targets); two-sided p-value from the normal. With ``small_sample`` the
    statistic is scaled by :math:`\\sqrt{(n + 1 - 2h + h(h-1)/n)/n}`, ``h`` the forecast
    ``horizon``, and compared with Student's t with ``n - 1`` degrees of freedom (Harvey,
    Leybourne and Newbold 1997), which keeps the test's size on a few dozen days. A
    negative statistic favours ``a``. NaN where the variance is not positive (identical
    losses).
    """
    from scipy import stats

    d = np.asarray(loss_a, float) - np.asarray(loss_b, float)
    n = len(d)
    if n < 2:
        return {"statistic": float("nan"), "p_value": float("nan")}
    centred = d - d.mean()
    variance = np.dot(centred, centred) / n
    for lag in range(1, min(lags, n - 1) + 1):
        weight = 1.0 - lag / (lags + 1.0)
        variance += 2.0 * weight * np.dot(centred[lag:], centred[:-lag]) / n
    if variance <= 0:
        return {"statistic": float("nan"), "p_value": float("nan")}
    statistic = d.mean() / np.sqrt(variance / n)
    if not small_sample:
        return {"statistic": float(statistic),
                "p_value": float(2.0 * stats.norm.sf(abs(statistic)))}  # fmt: skip
    h = horizon
    statistic *= np.sqrt(max(n + 1 - 2 * h + h * (h - 1) / n, 0.0) / n)
    return {"statistic": float(statistic),
            "p_value": float(2.0 * stats.t.sf(abs(statistic), df=n - 1))}  # fmt: skip


def block_bootstrap_rmse_ratio(
    sse_a: np.ndarray,
    sse_b: np.ndarray,
    rows: np.ndarray,
    level: float = 0.90,
    draws: int = 2000,
    block: int | None = None,
    seed: int = 0,
) -> list[float] | None:
    """Percentile interval of :math:`\\sqrt{\\sum SSE_a / \\sum n} /
    \\sqrt{\\sum SSE_b / \\sum n}` under a moving-block bootstrap of days.

    Parameters
    ----------
    sse_a, sse_b : ndarray
        Each day's sum of squared errors of the two forecasts, in date order.
    rows : ndarray
        Each day's number of rows (the ratio's denominators cancel; kept for clarity of
        what a day weighs).
    level : float
        Coverage of the interval.
    draws : int
        Bootstrap resamples.
    block : int, optional
        Days per block; by default :math:`\\lceil n^{1/3} \\rceil`.
    seed : int
        Seed of the resampling: the same inputs give the same interval.

    Returns
    -------
    list of two floats, or None
        ``[low, high]``; None with fewer than 2 days.
    """
    sse_a, sse_b = np.asarray(sse_a, float), np.asarray(sse_b, float)
    n = len(sse_a)
    if n < 2 or len(sse_b) != n or len(rows) != n:
        return None
    block = block or int(np.ceil(n ** (1.0 / 3.0)))
    block = max(1, min(block, n))
    blocks_per_draw = int(np.ceil(n / block))
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n - block + 1, size=(draws, blocks_per_draw))
    days = (starts[:, :, None] + np.arange(block)).reshape(draws, -1)[:, :n]
    a, b = sse_a[days].sum(axis=1), sse_b[days].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sqrt(a / b)
    ratio = ratio[np.isfinite(ratio)]
    if not len(ratio):
        return None
    tail = (1.0 - level) / 2.0
    return [float(np.quantile(ratio, tail)), float(np.quantile(ratio, 1.0 - tail))]
