"""The inputs of a sample (docs/architecture.md §4), each from data known before ``t``'s quote.

The per-day history of a contract (:data:`HISTORY_FEATURES`), the static features of day
``t`` (:data:`STATIC_FEATURES`), what a contract's quote at ``t-1`` gives
(:class:`PreviousQuote`), the underlying's historical vol, and the windows of ``L``
history slots a sample reads. Greeks and implied vols are recomputed from the mids with
the configured rate at each expiry's parity forward (the configured carry where it has
none: :func:`quote_carry`, :mod:`optvol.core.options.pricing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optvol.core.common.numeric import nan_to_num
from optvol.core.common.row_chunks import map_rows
from optvol.core.options.pricing.black_scholes import bs_greeks, implied_vol
from optvol.core.options.pricing.iv_surface import evaluate_surface
from optvol.core.options.samples.config import SampleConfig

TRADING_DAYS_PER_YEAR = 252
# Implied vols are decimals (0.25 is 25%); 5.0 (500%) is beyond any listed SPY option.
MAX_VENDOR_IV = 5.0
# Per-day history of each contract; the sequence adds the mask and the underlying return.
HISTORY_FEATURES = (
    "mid_over_strike",
    "iv",
    "delta",
    "gamma_x_spot",
    "vega_over_strike",
    "theta_over_strike",
    "log_moneyness",
    "tau",
    "iv_minus_surface",
)
SEQUENCE_FEATURES = (*HISTORY_FEATURES, "quoted", "underlying_return")
# The inputs of day t besides the contract's history: first its state at t-1, then the
# drivers, the only inputs that depend on S_t. Each is a dimensionless quantity or one
# measured against the contract's own vol, never a level that names the day: a network fed
# the day's vol level, its surface or its prices learns which day it is and that day's
# move, which does not repeat; one fed the return in units of the contract's daily vol
# learns how vols move with returns, which does.
STATE_FEATURES = (
    "log_moneyness",
    "standardized_moneyness",
    "tau",
    "sqrt_tau",
    "is_call",
    "business_time_change",
    "days_since_previous",
    "prev_iv_from_mid",
    "vendor_iv_gap",
    "historical_vol_over_iv",
    "prev_iv_minus_surface",
    "surface_slope",
    "iv_deviation_vs_recent",
    "return_history",
    "forward_fallback",
)
# What the coefficients of the drivers are functions of: the contract's place on the
# smile and in time, its vol and the smile's slope there. Few, and none naming a day, so
# that how a vol moves with the return is learned from every day alike.
SLOPE_FEATURES = (
    "standardized_moneyness",
    "sqrt_tau",
    "is_call",
    "prev_iv_from_mid",
    "surface_slope",
)
# The return into t in units of the contract's daily vol, x = r_t / (sigma_{t-1}/sqrt 252),
# and x |x|: the network's correction is c_0 + c_1 x + c_2 x |x| with coefficients c from
# the history and the state, so the return moves a vol through smooth, shared functions
# of the contract's state, and the model's delta is the derivative of that.
DRIVER_FEATURES = ("return_over_vol", "signed_return_over_vol_squared")
STATIC_FEATURES = (*STATE_FEATURES, *DRIVER_FEATURES)
assert set(SLOPE_FEATURES) <= set(STATE_FEATURES)
# The days before t-1 whose distance from the surface iv_deviation_vs_recent averages.
RECENT_DAYS = 5
# A day's return in units of the contract's daily vol, and the standardized moneyness it is
# crossed with, are clipped here: a crash day or a contract at expiry stays in range.
MAX_STANDARDIZED = 8.0


@dataclass
class PreviousQuote:
    """What a contract's quote at ``t-1`` gives the prediction of day ``t`` (float64).

    ``carry`` is :math:`c = \\ln(F/S)/T` of the contract's expiry that day (the parity
    forward's where the expiry has one, else the configured ``r - q``): every
    Black-Scholes computation prices at the dividend yield ``r - c``, so at the forward
    ``F``; ``log_moneyness`` is :math:`\\ln(F/K)`."""

    mid: np.ndarray
    iv: np.ndarray
    iv_from_mid: np.ndarray
    iv_minus_surface: np.ndarray
    log_moneyness: np.ndarray
    tau: np.ndarray
    carry: np.ndarray

    def take(self, index: np.ndarray | slice) -> PreviousQuote:
        """The quotes ``index`` of each field."""
        return PreviousQuote(**{name: values[index] for name, values in self.__dict__.items()})


def trading_days(
    dates: np.ndarray, underlying: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The data's trading days (sorted), each quote's day index (int64) and the
    underlying's price of each day: the median of its quotes' ``underlying``."""
    calendar, day = np.unique(dates, return_inverse=True)
    day = day.astype(np.int64)
    spot_of_day = pd.Series(np.asarray(underlying, float)).groupby(day).median().to_numpy()
    return calendar, day, spot_of_day


def option_classes(quotes: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The option class (``root``) of the quotes at the positions ``rows``: int64 codes
    into the sorted class names, and the names. A table without a ``root`` column (one
    read before classes were kept) has the one class ""."""
    if "root" not in quotes.columns:
        return np.zeros(len(rows), dtype=np.int64), np.array([""])
    column = quotes["root"]
    if (
        isinstance(column.dtype, pd.CategoricalDtype)
        and column.cat.categories.is_monotonic_increasing
    ):
        codes = column.cat.codes.to_numpy()[rows].astype(np.int64)
        return codes, column.cat.categories.to_numpy().astype(str)
    names, codes = np.unique(column.to_numpy()[rows].astype(str), return_inverse=True)
    return codes.astype(np.int64), names


def quote_carry(
    quotes: pd.DataFrame, rows: np.ndarray, spot: np.ndarray, config: SampleConfig
) -> tuple[np.ndarray, np.ndarray]:
    """The carry :math:`\\ln(F/S)/T` of the quotes at the positions ``rows``, against the
    underlying price ``spot`` each is priced at, and whether ``F`` is their expiry's
    parity forward (:mod:`optvol.core.options.pricing.forward`). The configured ``r - q``
    where the expiry has no parity forward, the table has none (one cleaned before
    forwards were kept) or ``config.forward`` is ``"fixed"``."""
    fallback = config.risk_free_rate - config.dividend_yield
    if config.forward == "fixed" or not {"forward", "forward_pairs"} <= set(quotes.columns):
        return np.full(len(rows), fallback), np.zeros(len(rows), dtype=bool)
    forward = quotes["forward"].to_numpy(float)[rows]
    tau = quotes["tau"].to_numpy(float)[rows]
    from_parity = (quotes["forward_pairs"].to_numpy()[rows] > 0) & np.isfinite(forward)
    from_parity &= tau > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        carry = np.log(forward / spot) / np.where(tau > 0, tau, 1.0)
    return np.where(from_parity, carry, fallback), from_parity


def dividend_yield_of(carry: np.ndarray, config: SampleConfig) -> np.ndarray:
    """The dividend yield :math:`q = r - c` at which Black-Scholes with the configured
    rate prices at the forward of the carry ``c``."""
    return config.risk_free_rate - carry


def shrunk_carry(carry: np.ndarray, shrinkage: float, config: SampleConfig) -> np.ndarray:
    """The ``t-1`` carry shrunk toward the configured one,
    :math:`c_0 + \\rho\\,(c_{t-1} - c_0)` with :math:`c_0 = r - q`: the carry the network
    prices ``t`` at. An expiry's ``t-1`` parity carry holds its rate and dividends, which
    last, and the day's spot basis (the vendor's spot off the option close), which on an
    index chain mostly does not: :math:`\\rho` (``carry_shrinkage``, fitted on the
    training days) keeps what lasts."""
    fallback = config.risk_free_rate - config.dividend_yield
    return fallback + shrinkage * (np.asarray(carry, float) - fallback)


def pricing_inputs(
    underlying: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    anchor_iv: np.ndarray,
    is_call: np.ndarray,
    carry: np.ndarray,
    config: SampleConfig,
    carry_shrinkage: float = 1.0,
) -> np.ndarray:
    """``(S_t / K, tau, anchor_iv, is_call, r, q)`` of each sample, float32 ``(N, 6)``,
    ``q`` the dividend yield of the ``t-1`` carry (:func:`dividend_yield_of`), shrunk by
    ``carry_shrinkage`` (:func:`shrunk_carry`)."""
    carry = carry if carry_shrinkage == 1.0 else shrunk_carry(carry, carry_shrinkage, config)
    columns = (
        underlying / strike, tau, anchor_iv, is_call, config.risk_free_rate,
        dividend_yield_of(carry, config),
    )  # fmt: skip
    pricing = np.empty((len(underlying), len(columns)), np.float32)
    for i, column in enumerate(columns):  # column by column: no float64 (N, 6) copy
        pricing[:, i] = column
    return pricing


def implied_vols(
    mid: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    vendor_iv: np.ndarray,
    is_call: np.ndarray,
    carry: np.ndarray,
    config: SampleConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """``(iv_from_mid, iv)`` of each quote: the implied vol solved from the mid at the
    configured rate and the forward of the ``carry``, and the vendor's IV where it has a
    usable one, else the solved one. Solved in row chunks, so the solver's temporaries
    stay small."""
    r = config.risk_free_rate
    q = dividend_yield_of(np.broadcast_to(carry, np.shape(mid)), config)

    def solve(rows: slice) -> dict[str, np.ndarray]:
        return {
            "iv": implied_vol(
                mid[rows], spot[rows], strike[rows], tau[rows], r, q[rows], is_call[rows]
            )
        }

    iv_from_mid = map_rows(len(mid), solve)["iv"]
    # A vendor IV above MAX_VENDOR_IV is not a decimal vol (a file quoting IV in percent,
    # or a solver failure); the one solved from the mid replaces it.
    has_vendor_iv = np.isfinite(vendor_iv) & (vendor_iv > 0) & (vendor_iv <= MAX_VENDOR_IV)
    return iv_from_mid, np.where(has_vendor_iv, vendor_iv, iv_from_mid)


def history_values(
    mid: np.ndarray,
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    iv: np.ndarray,
    is_call: np.ndarray,
    iv_minus_surface: np.ndarray,
    carry: np.ndarray,
    config: SampleConfig,
) -> np.ndarray:
    """One row of ``HISTORY_FEATURES`` per quote (float64, NaN where the IV is missing);
    ``log_moneyness`` is :math:`\\ln(F/K)`."""
    # Greeks are recomputed from the IV: vendors differ in greek units and leave them
    # empty where IV is empty, while these are consistent for every contract.
    greeks = bs_greeks(
        spot, strike, tau, config.risk_free_rate, dividend_yield_of(carry, config),
        nan_to_num(iv), is_call,
    )  # fmt: skip
    return np.stack(
        [
            mid / strike,
            iv,
            greeks.delta,
            greeks.gamma * spot,
            greeks.vega / strike,
            greeks.theta / strike,
            np.log(spot / strike) + carry * tau,
            tau,
            iv_minus_surface,
        ],
        axis=1,
    )


def log_moneyness_at(
    spot: np.ndarray, strike: np.ndarray, tau: np.ndarray, previous: PreviousQuote
) -> np.ndarray:
    """:math:`\\ln(F_t/K)` with :math:`F_t = S_t e^{c_{t-1} T}`: the given underlying
    price carried at the ``t-1`` quote's carry (the forward at ``t`` itself comes from
    ``t``'s quotes, which no input may read)."""
    return np.log(spot / strike) + previous.carry * tau


def surface_inputs(
    previous_coef: np.ndarray, log_moneyness: np.ndarray, tau: np.ndarray, previous: PreviousQuote
) -> tuple[np.ndarray, np.ndarray]:
    """``(surface_iv, surface_iv_change)``: the ``t-1`` surface at today's moneyness and
    expiry, and how much it moves the contract's vol from where it was at ``t-1``
    (sticky moneyness rather than sticky strike)."""
    surface_iv = evaluate_surface(previous_coef, -log_moneyness, tau)
    change = surface_iv - evaluate_surface(previous_coef, -previous.log_moneyness, previous.tau)
    return surface_iv, change


def business_time_change(
    iv: np.ndarray,
    tau: np.ndarray,
    previous_tau: np.ndarray,
    sessions: np.ndarray,
    previous_sessions: np.ndarray,
) -> np.ndarray:
    """The change of a calendar-time implied vol that holding its variance per trading
    session fixed implies from ``t-1`` to ``t``:

    .. math::

       \\sigma_{t-1}\\left(\\sqrt{\\frac{N_t}{N_{t-1}} \\frac{T_{t-1}}{T_t}} - 1\\right),

    :math:`N` the sessions to expiry (:func:`~optvol.core.common.trading_calendar.
    trading_days_between`), :math:`T` calendar years. Over a weekend :math:`T` falls by
    three days and :math:`N` by one, so a one-week option's calendar vol rises by a
    fifth while nothing happened; over a weekday both fall by one day, which moves a
    long-dated vol little. 0 where a count is
    missing or the contract expires at ``t``; the ratio is kept within ``[0.25, 4]``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (sessions / previous_sessions) * (previous_tau / tau)
        ok = (previous_sessions > 0) & (sessions > 0) & (tau > 0) & np.isfinite(ratio)
        factor = np.sqrt(np.minimum(np.maximum(np.where(ok, ratio, 1.0), 0.25), 4.0)) - 1.0
    return nan_to_num(iv) * factor


def business_time_vol(vol: np.ndarray, time_change: np.ndarray, share: float) -> np.ndarray:
    """The vol ``vol`` moved by the share ``share`` of :func:`business_time_change`,
    :math:`\\sigma + \\kappa\\,\\Delta\\sigma_{bt}`: :math:`\\kappa = 0` keeps calendar time
    (a weekend costs three days of variance), :math:`\\kappa = 1` counts trading sessions
    only (a weekend costs one), in between a weekend's calendar days carry part of a
    session's variance (French and Roll 1986 measure non-trading days' variance well below
    a session's)."""
    return vol if share == 0.0 else vol + share * time_change


def static_features(
    underlying_return: np.ndarray,
    previous_historical_vol: np.ndarray,
    previous: PreviousQuote,
    surface_slope: np.ndarray,
    time_change: np.ndarray,
    days_since_previous: np.ndarray,
    return_days: np.ndarray,
    recent_deviation: np.ndarray,
    forward_fallback: np.ndarray,
    is_call: np.ndarray,
    config: SampleConfig,
) -> np.ndarray:
    """One row of ``STATIC_FEATURES`` per sample (float32).

    The state at ``t-1``, with :math:`\\sigma` the contract's vol solved from its mid:
    its moneyness :math:`\\ln(F_{t-1}/K)` and the standardized form
    :math:`\\ln(F_{t-1}/K)/(\\sigma\\sqrt{T})`, its time to expiry (``tau``, its square
    root), call or put, :func:`business_time_change` (``time_change``) and the calendar
    days to ``t``, :math:`\\sigma` itself, the vendor's IV less it, the underlying's
    historical vol up to ``t-1`` over it, the contract's distance from the ``t-1`` surface,
    the surface's slope :math:`\\partial\\sigma/\\partial\\ln K` there
    (``surface_slope``, the skew that moves a fixed strike's vol as the underlying moves)
    and the part of the distance new at ``t-1`` (``recent_deviation``, :func:`deviation_vs_recent`,
    which reverts as quote noise does); ``return_history``, the share of
    ``historical_vol_days`` returns the data have before ``t`` (``return_days``), which
    tells the network what a short chain's historical vol stands on; ``forward_fallback``,
    1 where the ``t-1`` expiry had no parity forward.

    The drivers: the return into ``t`` in units of the contract's daily vol,
    :math:`x = r_t/(\\sigma/\\sqrt{252})`, and :math:`x|x|`. Standardized values are
    clipped at :data:`MAX_STANDARDIZED`: a crash day or a contract at expiry stays in
    range.
    """
    iv_from_mid = nan_to_num(previous.iv_from_mid)
    vol = np.maximum(iv_from_mid, 1e-3)
    tau = previous.tau
    sqrt_tau = np.sqrt(np.maximum(tau, 1.0 / 365.0))
    limit = MAX_STANDARDIZED
    # np.minimum(np.maximum()) is np.clip (NaN stays NaN) at a fraction of its overhead.
    log_moneyness = previous.log_moneyness
    standardized = np.minimum(np.maximum(log_moneyness / (vol * sqrt_tau), -limit), limit)
    r = nan_to_num(underlying_return)
    x = np.minimum(np.maximum(r / (vol / np.sqrt(TRADING_DAYS_PER_YEAR)), -limit), limit)
    vendor_gap = nan_to_num(previous.iv - previous.iv_from_mid)
    columns = (
        log_moneyness,
        standardized,
        tau,
        np.sqrt(np.maximum(tau, 0.0)),
        is_call,
        time_change,
        days_since_previous,
        iv_from_mid,
        np.minimum(np.maximum(vendor_gap, -1.0), 1.0),
        np.minimum(nan_to_num(previous_historical_vol) / vol, limit),
        nan_to_num(previous.iv_minus_surface),
        np.minimum(np.maximum(nan_to_num(surface_slope), -10.0), 10.0),
        recent_deviation,
        np.minimum(return_days, config.historical_vol_days) / config.historical_vol_days,
        forward_fallback,
        x,
        x * np.abs(x),
    )
    static = np.empty((len(tau), len(columns)), np.float32)
    for i, column in enumerate(columns):  # column by column: no float64 (N, S) copy
        static[:, i] = column
    return static


def deviation_vs_recent(history: np.ndarray, quoted: np.ndarray) -> np.ndarray:
    """The ``t-1`` day's ``iv_minus_surface`` less its mean over the quoted days of the
    ``RECENT_DAYS`` before (0 where none was quoted).

    ``history`` holds ``HISTORY_FEATURES`` and ``quoted`` the mask of the last
    ``RECENT_DAYS + 1`` days of each window, ``t-1`` last: shapes ``(N, RECENT_DAYS + 1,
    F)`` and ``(N, RECENT_DAYS + 1)``.
    """
    values = history[..., HISTORY_FEATURES.index("iv_minus_surface")].astype(np.float64)
    before, mask = values[:, :-1], quoted[:, :-1]
    count = mask.sum(axis=1)
    mean = np.where(mask, before, 0.0).sum(axis=1) / np.maximum(count, 1)
    return np.where(count > 0, values[:, -1] - mean, 0.0)


def window_indices(sample_slot: np.ndarray, length: int) -> np.ndarray:
    """History slots of the days ``t-L .. t-1`` of each sample, shape ``(N, L)``."""
    return sample_slot[:, None] - length + np.arange(length)[None, :]


def window_days(sample_day: np.ndarray, length: int) -> np.ndarray:
    """Calendar day indices ``t-L .. t-1`` of each sample; negative before the calendar."""
    return sample_day[:, None] - length + np.arange(length)[None, :]


def historical_vol_of_returns(returns: np.ndarray, days: int) -> np.ndarray:
    """:math:`\\sqrt{252/n \\sum_{i=0}^{n-1} r_{t-i}^2}` over the last ``n`` returns
    up to and including ``t``; over the ``t < n`` returns that exist on the first days of
    the data (their count is the ``return_history`` feature), NaN on the first day."""
    return historical_vol_of_sums(cumulative_squares(returns), days)


def cumulative_squares(returns: np.ndarray) -> np.ndarray:
    """``0`` then the running sum of the squared returns (a missing return counts 0): the
    sums :func:`historical_vol_of_sums` reads, extendable by a day without re-summing."""
    return np.concatenate([[0.0], np.cumsum(nan_to_num(returns) ** 2)])


def historical_vol_of_sums(squared: np.ndarray, days: int) -> np.ndarray:
    """:func:`historical_vol_of_returns` from the returns' :func:`cumulative_squares`."""
    out = np.full(len(squared) - 1, np.nan)
    # returns[0] is undefined (no previous day), so day t has t returns behind it.
    t = np.arange(1, len(out))
    window = np.minimum(t, days)
    out[t] = np.sqrt(TRADING_DAYS_PER_YEAR / window * (squared[t + 1] - squared[t + 1 - window]))
    return out


def historical_vol_into(
    squared: np.ndarray, day: np.ndarray, return_into: np.ndarray, days: int
) -> np.ndarray:
    """:func:`historical_vol_of_sums` of each day ``day`` (>= 1) whose own return is
    ``return_into`` rather than the data's: the sums ``squared`` up to ``day - 1``,
    extended by ``return_into`` squared, over the last ``min(day, days)`` returns. The
    same arithmetic, so a day of the data at its own return gets its own vol."""
    window = np.minimum(day, days)
    latest = squared[day] + nan_to_num(return_into) ** 2
    return np.sqrt(TRADING_DAYS_PER_YEAR / window * (latest - squared[day + 1 - window]))
