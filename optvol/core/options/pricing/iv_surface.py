"""A daily implied-volatility surface smoothed over moneyness and maturity.

The ad-hoc Black-Scholes model of Dumas, Fleming and Whaley (1998) fits, on each
quote date, a quadratic in moneyness and maturity to the implied volatilities of
that day,

.. math::

   \\sigma(x, T) = a_0 + a_1 x + a_2 x^2 + a_3 T + a_4 T^2 + a_5 x T ,

and prices every option with Black-Scholes at the volatility the surface gives
for its moneyness and maturity. DFW use the strike as the moneyness variable;
here :math:`x = \\ln(K/S)`, which puts every day's smile on the same scale while
the underlying moves (as Christoffersen and Jacobs (2004) do).

Only out-of-the-money quotes (calls with :math:`K \\ge S`, puts with
:math:`K < S`) enter the fit: their implied volatilities are the ones traders
quote, while in-the-money ones carry the noise of a large intrinsic value.

References
----------
.. [1] Dumas, B., Fleming, J. and Whaley, R. E. (1998) "Implied Volatility
   Functions: Empirical Tests", Journal of Finance 53(6), 2059-2106.
.. [2] Christoffersen, P. and Jacobs, K. (2004) "The importance of the loss
   function in option valuation", Journal of Financial Economics 72, 291-318.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SURFACE_TERMS", "evaluate_surface", "fit_daily_surfaces", "surface_slope"]

SURFACE_TERMS = ("1", "x", "x^2", "T", "T^2", "xT")
# Fewer quotes than this on a day leave that day without a surface.
MIN_QUOTES = 2 * len(SURFACE_TERMS)
# Implied vols outside this range are solver failures or stale quotes, not a smile.
IV_RANGE = (0.01, 3.0)
# A tiny ridge keeps a day whose quotes span one maturity (T and T^2 collinear) solvable.
_RIDGE = 1e-8


def _design(x: np.ndarray, tau: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(x), x, x * x, tau, tau * tau, x * tau], axis=-1)


def fit_daily_surfaces(
    day: np.ndarray,
    log_moneyness: np.ndarray,
    tau: np.ndarray,
    iv: np.ndarray,
    is_call: np.ndarray,
    n_days: int,
) -> np.ndarray:
    """Least-squares DFW coefficients of every day, fitted all at once.

    Parameters
    ----------
    day : ndarray of int
        Day index of each quote, in ``[0, n_days)``.
    log_moneyness : ndarray
        :math:`x = \\ln(K/S)` of each quote.
    tau : ndarray
        Time to expiry in years.
    iv : ndarray
        Implied volatility (0.2 is 20%); NaN where unknown.
    is_call : ndarray of bool
        True for calls.
    n_days : int
        Number of days.

    Returns
    -------
    ndarray, shape (n_days, 6)
        Coefficients :math:`a_0 \\dots a_5` of each day (in the order of
        ``SURFACE_TERMS``); NaN on days with fewer than ``MIN_QUOTES`` usable
        out-of-the-money quotes.

    Notes
    -----
    The normal equations :math:`(X^\\top X) a = X^\\top y` of all days are
    accumulated with a weighted ``bincount`` per pair of terms and solved as one
    batch, so the cost is linear in the number of quotes with no loop over days.
    """
    otm = np.where(is_call, log_moneyness >= 0.0, log_moneyness < 0.0)
    use = otm & np.isfinite(iv) & (iv >= IV_RANGE[0]) & (iv <= IV_RANGE[1])
    use &= np.isfinite(log_moneyness) & np.isfinite(tau) & (tau > 0)
    d = day[use]
    X = _design(log_moneyness[use].astype(float), tau[use].astype(float))
    y = iv[use].astype(float)

    k = X.shape[1]
    xtx = np.empty((n_days, k, k))
    for i in range(k):
        for j in range(i, k):
            xtx[:, i, j] = xtx[:, j, i] = np.bincount(d, X[:, i] * X[:, j], minlength=n_days)
    xty = np.stack([np.bincount(d, X[:, i] * y, minlength=n_days) for i in range(k)], axis=1)
    counts = np.bincount(d, minlength=n_days)

    coef = np.full((n_days, k), np.nan)
    enough = counts >= MIN_QUOTES
    if enough.any():
        scale = np.trace(xtx[enough], axis1=1, axis2=2)[:, None, None]
        system = xtx[enough] + _RIDGE * scale * np.eye(k)
        coef[enough] = np.linalg.solve(system, xty[enough][..., None])[..., 0]
    return coef


def evaluate_surface(coef: np.ndarray, log_moneyness: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Implied vol of the surface(s) ``coef`` at ``(x, T)``, clipped to ``IV_RANGE``.

    ``coef`` has one row per point (shape ``(n, 6)``); a NaN row gives NaN.
    """
    X = _design(np.asarray(log_moneyness, float), np.asarray(tau, float))
    low, high = IV_RANGE  # np.clip's result, without its Python overhead
    return np.minimum(np.maximum(np.einsum("nk,nk->n", X, coef), low), high)


def surface_slope(coef: np.ndarray, log_moneyness: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """:math:`\\partial\\sigma/\\partial x = a_1 + 2 a_2 x + a_5 T` of the surface(s)
    ``coef`` at ``(x, T)`` (one row of ``coef`` per point; NaN rows give NaN)."""
    x = np.asarray(log_moneyness, float)
    return coef[:, 1] + 2.0 * coef[:, 2] * x + coef[:, 5] * np.asarray(tau, float)
