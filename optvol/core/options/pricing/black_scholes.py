"""
Black-Scholes-Merton pricing, greeks and implied volatility.

Everything here is vectorized: every argument may be a scalar or an array, and
the arguments broadcast against each other with the usual numpy rules. No
function emits floating-point warnings, including at the edges ``T -> 0``
(expiry) and ``sigma -> 0`` (no volatility), where the limits are returned.

The model is the one of Black and Scholes (1973) extended by Merton (1973) to
an underlying paying a continuous dividend yield ``q``. With the forward
``F = S exp((r - q) T)``,

.. math::

   d_1 = \\frac{\\ln(F/K) + \\sigma^2 T / 2}{\\sigma\\sqrt{T}}, \\qquad
   d_2 = d_1 - \\sigma\\sqrt{T}

   C = S e^{-qT} N(d_1) - K e^{-rT} N(d_2), \\qquad
   P = K e^{-rT} N(-d_2) - S e^{-qT} N(-d_1)

References
----------
.. [1] Black, F. and Scholes, M. (1973) "The Pricing of Options and Corporate
   Liabilities", Journal of Political Economy 81(3), 637-654.
.. [2] Merton, R. C. (1973) "Theory of Rational Option Pricing", Bell Journal
   of Economics and Management Science 4(1), 141-183.
.. [3] Hull, J. C. "Options, Futures and Other Derivatives", Pearson,
   chapters "The Black-Scholes-Merton Model" and "The Greek Letters".
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr

__all__ = [
    "Greeks",
    "bs_greeks",
    "bs_price",
    "implied_vol",
]

_SQRT_2PI = np.sqrt(2.0 * np.pi)
# Below this total volatility sigma*sqrt(T) the price is its sigma -> 0 limit.
_TINY_VOL = 1e-12
# Time to expiry is measured in calendar days over 365 (vendor greeks use the same).
DAYS_PER_YEAR = 365.0

Float = NDArray[np.float64]


class Greeks(NamedTuple):
    """
    Black-Scholes-Merton sensitivities in option-data vendor conventions.

    Attributes
    ----------
    delta : ndarray
        dV/dS, per 1.00 move of the underlying.
    gamma : ndarray
        d2V/dS2, per 1.00 move of the underlying.
    vega : ndarray
        dV/dsigma per volatility point, i.e. per 0.01 change of sigma.
    theta : ndarray
        dV/dt per calendar day (annual theta / 365); negative for time decay.
    rho : ndarray
        dV/dr per percentage point, i.e. per 0.01 change of r.
    """

    delta: Float
    gamma: Float
    vega: Float
    theta: Float
    rho: Float


def _npdf(x: Float) -> Float:
    # exp(-inf) is 0 without warnings, so infinite d gives a zero density.
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _broadcast(*values, is_call) -> list[np.ndarray]:
    """``values`` as float arrays and ``is_call`` as a bool array, broadcast together."""
    floats = [np.asarray(v, dtype=float) for v in values]
    return np.broadcast_arrays(*floats, np.asarray(is_call, dtype=bool))


def _prepare(S, K, T, r, q, sigma, is_call, broadcast: bool = True):
    """The inputs as arrays; ``broadcast=False`` where every result involves every input,
    so that the arithmetic broadcasts them, without the cost of ``broadcast_arrays`` on the
    few contracts of an API request."""
    if broadcast:
        S, K, T, r, q, sigma, call = _broadcast(S, K, T, r, q, sigma, is_call=is_call)
    else:
        S, K, T, r, q, sigma = (np.asarray(v, dtype=float) for v in (S, K, T, r, q, sigma))
        call = np.asarray(is_call, dtype=bool)
    T = np.maximum(T, 0.0)
    sigma = np.maximum(sigma, 0.0)
    return S, K, T, r, q, sigma, call


def _d1_d2(S: Float, K: Float, T: Float, r: Float, q: Float, sigma: Float):
    """d1, d2, sqrt(T), total vol and the flag of the sigma*sqrt(T) -> 0 limit."""
    sqrt_t = np.sqrt(T)
    total_vol = sigma * sqrt_t
    small = total_vol < _TINY_VOL
    with np.errstate(divide="ignore", invalid="ignore"):
        log_fk = np.log(S / K) + (r - q) * T
    undefined = np.isnan(log_fk)
    if undefined.any():
        log_fk = np.where(undefined, 0.0, log_fk)
    if not small.any():  # no limit to take: the general formula, without the selections
        d1 = (log_fk + 0.5 * total_vol * total_vol) / total_vol
        return d1, d1 - total_vol, sqrt_t, total_vol, small
    safe_vol = np.where(small, 1.0, total_vol)
    d1 = np.where(
        small,
        np.where(log_fk > 0, np.inf, np.where(log_fk < 0, -np.inf, 0.0)),
        (log_fk + 0.5 * total_vol * total_vol) / safe_vol,
    )
    d2 = np.where(small, d1, d1 - total_vol)
    return d1, d2, sqrt_t, total_vol, small


def _result(x: Float):
    x = x + 0.0  # turns -0.0 into 0.0
    return x[()] if x.ndim == 0 else x


def bs_price(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Float:
    """
    Black-Scholes-Merton price of a European option.

    Parameters
    ----------
    S : array_like
        Spot price of the underlying.
    K : array_like
        Strike.
    T : array_like
        Time to expiry in years; values <= 0 give the intrinsic value.
    r : array_like
        Continuously compounded risk-free rate (0.05 is 5%).
    q : array_like
        Continuous dividend yield (0.014 is 1.4%).
    sigma : array_like
        Volatility (0.20 is 20%); ``sigma = 0`` gives the discounted
        forward intrinsic value.
    is_call : array_like of bool
        True for a call, False for a put.

    Returns
    -------
    ndarray
        The option price, broadcast over the inputs (a float for scalar input).

    Notes
    -----
    With :math:`F = S e^{(r-q)T}`,

    .. math::

       C = S e^{-qT} N(d_1) - K e^{-rT} N(d_2), \\qquad
       P = K e^{-rT} N(-d_2) - S e^{-qT} N(-d_1),

       d_1 = \\frac{\\ln(F/K) + \\sigma^2 T/2}{\\sigma\\sqrt{T}}, \\quad
       d_2 = d_1 - \\sigma\\sqrt{T}.

    When :math:`\\sigma\\sqrt{T} \\to 0`, :math:`d_{1,2} \\to \\pm\\infty` with the
    sign of :math:`\\ln(F/K)` and the price tends to
    :math:`e^{-rT}\\max(F - K, 0)` (call) or :math:`e^{-rT}\\max(K - F, 0)` (put).

    References
    ----------
    Black and Scholes (1973); Merton (1973); Hull, "Options, Futures and Other
    Derivatives", section "Black-Scholes-Merton pricing formulas" and its
    extension to a known dividend yield.

    Examples
    --------
    Hull's example (S=42, K=40, r=10%, sigma=20%, six months):

    >>> round(float(bs_price(42, 40, 0.5, 0.1, 0.0, 0.2, True)), 2)
    4.76
    """
    S, K, T, r, q, sigma, call = _prepare(S, K, T, r, q, sigma, is_call, broadcast=False)
    d1, d2, *_ = _d1_d2(S, K, T, r, q, sigma)
    disc_s = S * np.exp(-q * T)
    disc_k = K * np.exp(-r * T)
    call_px = disc_s * ndtr(d1) - disc_k * ndtr(d2)
    put_px = disc_k * ndtr(-d2) - disc_s * ndtr(-d1)
    price = np.where(call, call_px, put_px)
    return _result(np.maximum(price, 0.0))


def bs_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
) -> Greeks:
    """
    Black-Scholes-Merton greeks in the conventions of option-data vendors.

    Parameters
    ----------
    S, K, T, r, q, sigma, is_call : array_like
        As in :func:`bs_price`.

    Returns
    -------
    Greeks
        Named tuple of arrays ``delta, gamma, vega, theta, rho``:

        * ``delta`` per 1.00 of the underlying,
        * ``gamma`` per 1.00 of the underlying,
        * ``vega`` per volatility point (a 0.01 change of sigma),
        * ``theta`` per calendar day (the annual theta divided by 365),
        * ``rho`` per percentage point (a 0.01 change of r).

        These are the units optionsDX and most vendors print.

    Notes
    -----
    Per unit of each variable (Hull, "The Greek Letters", with dividend
    yield q), with :math:`n` the standard normal density:

    .. math::

       \\Delta_C = e^{-qT} N(d_1), \\qquad \\Delta_P = -e^{-qT} N(-d_1)

       \\Gamma = \\frac{e^{-qT} n(d_1)}{S \\sigma \\sqrt{T}}, \\qquad
       \\mathcal{V} = S e^{-qT} n(d_1) \\sqrt{T}

       \\Theta_C = -\\frac{S e^{-qT} n(d_1) \\sigma}{2\\sqrt{T}}
                  - r K e^{-rT} N(d_2) + q S e^{-qT} N(d_1)

       \\Theta_P = -\\frac{S e^{-qT} n(d_1) \\sigma}{2\\sqrt{T}}
                  + r K e^{-rT} N(-d_2) - q S e^{-qT} N(-d_1)

       \\rho_C = K T e^{-rT} N(d_2), \\qquad \\rho_P = -K T e^{-rT} N(-d_2)

    then vega and rho are divided by 100 and theta by 365. In the limit
    :math:`\\sigma\\sqrt{T} \\to 0` gamma and vega are 0 and delta is
    :math:`\\pm e^{-qT}` or 0 (0.5 exactly at the forward when T = 0).

    References
    ----------
    Black and Scholes (1973); Merton (1973); Hull, "Options, Futures and Other
    Derivatives", chapter "The Greek Letters".
    """
    S, K, T, r, q, sigma, call = _prepare(S, K, T, r, q, sigma, is_call)
    d1, d2, sqrt_t, total_vol, small = _d1_d2(S, K, T, r, q, sigma)
    eq = np.exp(-q * T)
    er = np.exp(-r * T)
    pdf = np.where(small, 0.0, _npdf(d1))
    nd1, nd2 = ndtr(d1), ndtr(d2)
    nmd1, nmd2 = ndtr(-d1), ndtr(-d2)

    delta = np.where(call, eq * nd1, -eq * nmd1)
    safe_vol = np.where(small, 1.0, total_vol)
    safe_s = np.where(S == 0, 1.0, S)
    gamma = np.where(small, 0.0, eq * pdf / (safe_s * safe_vol))
    vega = S * eq * pdf * sqrt_t
    # S e^{-qT} n(d1) sigma / (2 sqrt T) written as ... * total_vol / (2 T).
    safe_t = np.where(T > 0, T, 1.0)
    decay = np.where(small, 0.0, S * eq * pdf * total_vol / (2.0 * safe_t))
    theta_call = -decay - r * K * er * nd2 + q * S * eq * nd1
    theta_put = -decay + r * K * er * nmd2 - q * S * eq * nmd1
    theta = np.where(call, theta_call, theta_put)
    rho = np.where(call, K * T * er * nd2, -K * T * er * nmd2)
    return Greeks(
        delta=_result(delta),
        gamma=_result(gamma),
        vega=_result(vega / 100.0),
        theta=_result(theta / DAYS_PER_YEAR),
        rho=_result(rho / 100.0),
    )


def implied_vol(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    q: ArrayLike,
    is_call: ArrayLike,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    sigma_max: float = 10.0,
) -> Float:
    """
    Implied volatility that reprices an option, solved element-wise.

    Parameters
    ----------
    price : array_like
        Observed option price.
    S, K, T, r, q, is_call : array_like
        As in :func:`bs_price`.
    tol : float, optional
        Absolute tolerance on the price (and on sigma's bracket width).
    max_iter : int, optional
        Maximum number of Newton/bisection iterations.
    sigma_max : float, optional
        Upper end of the search bracket (1000% by default).

    Returns
    -------
    ndarray
        The implied volatility; NaN where the price is outside the
        no-arbitrage bounds (below the discounted intrinsic value
        :math:`\\max(S e^{-qT} - K e^{-rT}, 0)` for a call, at or above
        :math:`S e^{-qT}` for a call or :math:`K e^{-rT}` for a put), where
        ``T <= 0``, where any input is not finite, or where no volatility up
        to ``sigma_max`` reaches the price. A price equal to the lower bound
        gives 0.

    Notes
    -----
    The price is strictly increasing in sigma, so the root is bracketed in
    :math:`[0, \\sigma_{max}]`. Each iteration takes a Newton step
    :math:`\\sigma - (BS(\\sigma) - p)/\\mathcal{V}` and falls back to bisection
    whenever the step leaves the current bracket; the bracket shrinks every
    iteration, so the solver always converges. In-the-money options are
    converted to the out-of-the-money option of the other type with
    put-call parity, :math:`C - P = S e^{-qT} - K e^{-rT}` (Hull, "Put-call
    parity"), whose price carries the same volatility but is far better
    conditioned.

    References
    ----------
    Black and Scholes (1973); Merton (1973); Hull, "Options, Futures and Other
    Derivatives", section "Implied volatilities".
    """
    arrays = _broadcast(price, S, K, T, r, q, is_call=is_call)
    price, S, K, T, r, q, call = (np.array(a) for a in arrays)
    shape = price.shape
    price, S, K, T, r, q, call = (a.ravel() for a in (price, S, K, T, r, q, call))
    out = np.full(price.shape, np.nan)

    finite = np.isfinite(price) & np.isfinite(S) & np.isfinite(K) & np.isfinite(T)
    finite &= np.isfinite(r) & np.isfinite(q) & (S > 0) & (K > 0) & (T > 0)
    with np.errstate(invalid="ignore", over="ignore"):
        disc_s = S * np.exp(-q * T)
        disc_k = K * np.exp(-r * T)
    parity = disc_s - disc_k  # C - P
    # Work with the out-of-the-money side: a call is out of the money when
    # F <= K, i.e. S e^{-qT} <= K e^{-rT}; otherwise the put is.
    otm_call = disc_s <= disc_k
    otm_price = np.where(call == otm_call, price, np.where(call, price - parity, price + parity))
    upper = np.where(otm_call, disc_s, disc_k)
    # otm_price is the time value of the option; it must lie in [0, upper).
    scale = np.maximum(np.abs(price), 1.0)
    at_lower = finite & (np.abs(otm_price) <= 1e-12 * scale)
    valid = finite & (otm_price > 1e-12 * scale) & (otm_price < upper)
    out[at_lower] = 0.0

    idx = np.flatnonzero(valid)
    if idx.size:
        out[idx] = _solve(
            otm_price[idx], S[idx], K[idx], T[idx], r[idx], q[idx], otm_call[idx],
            tol=tol, max_iter=max_iter, sigma_max=sigma_max,
        )  # fmt: skip
    out = out.reshape(shape)
    return _result(out)


def _solve(target, S, K, T, r, q, call, *, tol, max_iter, sigma_max):
    """Safeguarded Newton with bisection on the bracket [lo, hi]."""
    lo = np.zeros_like(target)
    hi = np.full_like(target, sigma_max)
    reachable = bs_price(S, K, T, r, q, hi, call) > target
    # Start at the larger of the Brenner-Subrahmanyam (1988) at-the-money
    # approximation and the Manaster-Koehler (1982) inflection point.
    forward = S * np.exp((r - q) * T)
    brenner = np.sqrt(2.0 * np.pi / T) * target * np.exp(r * T) / forward
    manaster = np.sqrt(2.0 * np.abs(np.log(forward / K)) / T)
    sigma = np.clip(np.maximum(brenner, manaster), 0.05, 0.5 * sigma_max)
    result = np.full_like(target, np.nan)
    active = np.flatnonzero(reachable)
    for _ in range(max_iter):
        if active.size == 0:
            break
        s_a = sigma[active]
        px = bs_price(S[active], K[active], T[active], r[active], q[active], s_a, call[active])
        diff = px - target[active]
        greeks = bs_greeks(S[active], K[active], T[active], r[active], q[active], s_a, call[active])
        vega = np.atleast_1d(greeks.vega) * 100.0  # per unit of sigma
        lo_a = np.where(diff < 0, s_a, lo[active])
        hi_a = np.where(diff > 0, s_a, hi[active])
        converged = (np.abs(diff) <= tol) | (hi_a - lo_a <= tol)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            newton = s_a - diff / vega
        ok = np.isfinite(newton) & (newton > lo_a) & (newton < hi_a)
        new_sigma = np.where(ok, newton, 0.5 * (lo_a + hi_a))
        result[active[converged]] = s_a[converged]
        lo[active], hi[active] = lo_a, hi_a
        sigma[active] = new_sigma
        active = active[~converged]
    # Anything still active after max_iter: take the bracket midpoint.
    if active.size:
        result[active] = 0.5 * (lo[active] + hi[active])
    return result
