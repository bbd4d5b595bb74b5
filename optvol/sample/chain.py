"""
Simulated SPY option chains: expiries, strike grid, implied-vol surface and
quotes (bid/ask, sizes, volume, last, IV and greeks), one chunk of dates at a
time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optvol.core.options.pricing.black_scholes import DAYS_PER_YEAR, bs_greeks, bs_price
from optvol.sample.calendar import END, expiry_calendar
from optvol.sample.underlying import FAST_KAPPA, FAST_VOL

__all__ = ["SPECS", "ChainSpec", "chain_chunks", "iv_surface", "list_contracts"]


@dataclass(frozen=True)
class ChainSpec:
    """
    What is listed each day.

    Attributes
    ----------
    weekly_days : tuple of int
        Weekdays (Monday=0) with weekly expiries.
    weekly_horizon, monthly_horizon, leaps_horizon : int
        Calendar days ahead to which weeklies, monthlies (third Fridays) and
        LEAPS (December and January third Fridays) are listed.
    near_step, far_step : float
        Strike increments near the money and further out.
    near_band : float
        Half width, as a fraction of spot, of the ``near_step`` grid.
    z_put, z_call : float
        Strike range in standardized moneyness ``ln(K/F) / (sigma sqrt(T))``
        below and above the forward.
    min_listing_days : float
        Strikes of an expiry span at least the range of this maturity
        (strikes listed weeks before expiry stay listed).
    chunk_days : int
        Quote dates generated and written per chunk.
    """

    weekly_days: tuple[int, ...]
    weekly_horizon: int
    monthly_horizon: int
    leaps_horizon: int
    near_step: float
    far_step: float
    near_band: float
    z_put: float
    z_call: float
    min_listing_days: float
    chunk_days: int


SPECS: dict[str, ChainSpec] = {
    "demo": ChainSpec(
        weekly_days=(4,),
        weekly_horizon=21,
        monthly_horizon=95,
        leaps_horizon=400,
        near_step=5.0,
        far_step=10.0,
        near_band=0.10,
        z_put=3.1,
        z_call=2.0,
        min_listing_days=21.0,
        chunk_days=126,
    ),
    "full": ChainSpec(
        weekly_days=(0, 2, 4),
        weekly_horizon=56,
        monthly_horizon=365,
        leaps_horizon=915,
        near_step=1.0,
        far_step=5.0,
        near_band=0.12,
        z_put=3.85,
        z_call=2.3,
        min_listing_days=30.0,
        chunk_days=8,
    ),
}

# Implied-vol surface parameters.
IV_PREMIUM = 1.05  # implied over instantaneous volatility
IV_SPREAD = 0.015
IV_LONG_RUN = 0.21  # the far end of the ATM term structure
IV_KAPPA = 3.0  # speed at which the ATM term structure reverts
SKEW = -0.22  # slope in standardized moneyness
SMILE = 0.20  # wing curvature in standardized moneyness
SMILE_FLOOR = 0.45
SKEW_VOL = 0.20  # the reference vol of the standardized moneyness
# How the fast factor moves the ATM vol of maturity T: (T / 30 days) ** -0.4, a power law
# as rough volatility gives (Bayer, Friz and Gatheral 2016), from one week on.
FAST_WEIGHT_EXPONENT = 0.4
FAST_WEIGHT_DAYS = (7.0, 30.0)


def _decay(k: float, T: np.ndarray) -> np.ndarray:
    """``(1 - exp(-k T)) / (k T)``: the average over ``[0, T]`` of a shock decaying at ``k``."""
    kt = k * np.maximum(T, 1e-6)
    return -np.expm1(-kt) / kt


def _power_root(T: np.ndarray) -> np.ndarray:
    """``sqrt(T)`` at 30 days, scaled like ``T ** (1/2 - H)`` around it, ``H`` = 0.1: the
    at-the-money skew falls like ``T ** -0.4`` (Bayer, Friz and Gatheral 2016)."""
    reference = FAST_WEIGHT_DAYS[1] / DAYS_PER_YEAR
    return np.sqrt(reference) * (T / reference) ** FAST_WEIGHT_EXPONENT


def atm_vol(variance: np.ndarray, T: np.ndarray, fast: np.ndarray | float = 0.0) -> np.ndarray:
    """
    At-the-money implied vol of maturity ``T`` given the two volatility factors.

    With ``v0`` the short-end implied variance (a premium over the slow variance
    state) and ``v_inf`` the long-run one, the Heston expectation
    ``v_inf + (v0 - v_inf) (1 - exp(-k T)) / (k T)`` gives an inverted term
    structure when variance is high and an upward-sloping one when it is low. The
    fast factor ``X`` scales it by ``exp(w(T) (X - s^2))`` with the weight
    ``w(T) = (max(T, 7d) / 30d) ** -0.4``: it moves the vols of short maturities more than
    those of long ones, with the power law of the term structure of the at-the-money
    skew and vol-of-vol that rough volatility explains (Bayer, Friz and Gatheral 2016).
    """
    v0 = (IV_PREMIUM * np.sqrt(variance) + IV_SPREAD) ** 2
    v_inf = IV_LONG_RUN**2
    slow = np.sqrt(v_inf + (v0 - v_inf) * _decay(IV_KAPPA, T))
    fast_variance = FAST_VOL**2 / (2.0 * FAST_KAPPA)
    short, reference = (days / DAYS_PER_YEAR for days in FAST_WEIGHT_DAYS)
    weight = (np.maximum(T, short) / reference) ** -FAST_WEIGHT_EXPONENT
    return slow * np.exp(weight * (np.asarray(fast) - fast_variance))


def iv_surface(
    log_moneyness: np.ndarray, T: np.ndarray, variance: np.ndarray, fast: np.ndarray | float = 0.0
) -> np.ndarray:
    """
    Implied vol at log-moneyness ``ln(K/F)`` and maturity ``T`` (years).

    ``sigma = atm(T) * max(1 + SKEW z + SMILE (sqrt(z^2 + 1) - 1), SMILE_FLOOR)``
    with the standardized moneyness ``z = ln(K/F) / (sqrt(atm(T) SKEW_VOL) sqrt(T))``
    (clipped to [-6, 6]). The skew in log-moneyness is negative and scales like
    ``1 / sqrt(T)``, steeper for short maturities; in vol points it grows like
    ``sqrt(atm)``, so it steepens when the vol rises, as the index's does when it falls.
    The hyperbolic curvature (SVI-like) keeps the wings close to linear, steep on the
    put side and flattening on the call side.

    The surface is sticky in moneyness while the vol factors move with the price
    (``RHO`` = -0.7): a fixed strike's vol moves by the at-the-money vol's move less the
    skew times the return, about half the at-the-money move, the skew-stickiness ratio
    near 2 that stochastic-volatility models give (Bergomi 2009).
    """
    T_s = np.maximum(T, 0.5 / DAYS_PER_YEAR)
    atm = atm_vol(variance, T_s, fast)
    width = np.sqrt(atm * SKEW_VOL) * _power_root(T_s)
    z = np.clip(log_moneyness / width, -6.0, 6.0)
    smile = 1.0 + SKEW * z + SMILE * (np.sqrt(z * z + 1.0) - 1.0)
    return atm * np.maximum(smile, SMILE_FLOOR)


def _expiry_pairs(dates: pd.DatetimeIndex, spec: ChainSpec, expiries: pd.DataFrame):
    """(quote date, expiry) pairs listed on ``dates``."""
    q = np.repeat(dates.to_numpy(), len(expiries))
    e = np.tile(expiries["expiry"].to_numpy(), len(dates))
    kind = np.tile(expiries["kind"].to_numpy(), len(dates))
    dte = (e - q).astype("timedelta64[D]").astype(np.int64)
    horizon = np.select(
        [kind == "weekly", kind == "monthly"],
        [spec.weekly_horizon, spec.monthly_horizon],
        spec.leaps_horizon,
    )
    # LEAPS dates are also ordinary monthlies within the monthly horizon.
    horizon = np.where(kind == "leaps", np.maximum(horizon, spec.monthly_horizon), horizon)
    keep = (dte >= 0) & (dte <= horizon)
    return q[keep], e[keep], dte[keep]


def _ranges(start: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ``start[i] + arange(count[i])`` and the owner index i."""
    count = np.maximum(count, 0)
    owner = np.repeat(np.arange(len(start)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return start[owner] + offset, owner


def list_contracts(
    spot: np.ndarray, forward: np.ndarray, T: np.ndarray, variance: np.ndarray, spec: ChainSpec
) -> tuple[np.ndarray, np.ndarray]:
    """
    Strikes listed for each (date, expiry) pair.

    Strikes lie on SPY's grid: multiples of ``near_step`` within
    ``near_band`` of spot and of ``far_step`` outside it, from
    ``z_put`` standard deviations below the forward to ``z_call`` above,
    so the range widens with sqrt(T) and with volatility.

    Returns
    -------
    strikes, owner : ndarray
        The strikes, sorted within each pair, and the index of their pair.
    """
    T_list = np.maximum(T, spec.min_listing_days / DAYS_PER_YEAR)
    width = np.maximum(atm_vol(variance, T_list), 0.12) * np.sqrt(T_list)
    lower = forward * np.exp(-spec.z_put * width)
    upper = forward * np.exp(spec.z_call * width)
    ns, fs = spec.near_step, spec.far_step
    lo_n = np.ceil(np.maximum(lower, spot * (1 - spec.near_band)) / ns)
    hi_n = np.floor(np.minimum(upper, spot * (1 + spec.near_band)) / ns)
    atm = np.round(spot / ns)
    empty = hi_n < lo_n
    lo_n = np.where(empty, atm, lo_n)
    hi_n = np.where(empty, atm, hi_n)
    lo_fb = np.maximum(np.ceil(lower / fs), 1)
    hi_fb = np.ceil(lo_n * ns / fs) - 1
    lo_fa = np.floor(hi_n * ns / fs) + 1
    hi_fa = np.floor(upper / fs)
    parts = [
        (lo_n, hi_n - lo_n + 1, ns),
        (lo_fb, hi_fb - lo_fb + 1, fs),
        (lo_fa, hi_fa - lo_fa + 1, fs),
    ]
    strikes, owners = [], []
    for start, count, step in parts:
        multiple, owner = _ranges(start.astype(np.int64), count.astype(np.int64))
        strikes.append(multiple * step)
        owners.append(owner)
    strike = np.concatenate(strikes).astype(float)
    owner = np.concatenate(owners)
    order = np.lexsort((strike, owner))
    return strike[order], owner[order]


def _quotes(mid: np.ndarray, iv: np.ndarray, T: np.ndarray, rng: np.random.Generator):
    """Bid, ask (cents rounded) and sizes around ``mid``."""
    n = len(mid)
    spread = 0.01 + 0.004 * mid * np.sqrt(iv / 0.2) * (1.0 + 1.5 * np.sqrt(T))
    spread_c = np.maximum(1, np.round(100 * spread * rng.lognormal(0.0, 0.25, n)))
    bid_c = np.round(100 * mid - spread_c / 2)
    ask_c = bid_c + spread_c
    cheap = (mid < 0.015) | (bid_c < 1)
    bid_c = np.where(cheap, 0, bid_c)
    ask_c = np.where(cheap, np.maximum(np.minimum(ask_c, 3), rng.integers(1, 4, n)), ask_c)
    bid_size = np.clip(np.round(rng.lognormal(np.log(150), 1.1, n)), 1, 2000).astype(np.int64)
    ask_size = np.clip(np.round(rng.lognormal(np.log(150), 1.1, n)), 1, 2000).astype(np.int64)
    bid_size = np.where(bid_c == 0, 0, bid_size)
    return bid_c / 100.0, ask_c / 100.0, bid_size, ask_size


def _trades(mid, bid, ask, z, dte, rng: np.random.Generator):
    """Sparse volume near the money and short dated; last price near the mid."""
    n = len(mid)
    term = np.select([dte <= 7, dte <= 30, dte <= 90], [1.0, 0.6, 0.3], 0.12)
    p_trade = 0.75 * np.exp(-0.5 * (z / 1.3) ** 2) * term
    traded = (rng.random(n) < p_trade) & (ask > 0.0)
    size = rng.lognormal(np.log(20) + 2.0 * np.exp(-0.5 * z * z) + (dte <= 7), 1.3, n)
    volume = np.where(traded, np.maximum(1, np.round(size)), np.nan)
    inside = bid + (ask - bid) * rng.random(n)
    stale = (~traded) & (rng.random(n) < 0.15) & (mid >= 0.01)
    stale_px = mid * rng.lognormal(0.0, 0.05, n)
    last = np.where(traded, inside, np.where(stale, stale_px, np.nan))
    last = np.where(np.isnan(last), np.nan, np.maximum(np.round(last, 2), 0.01))
    return volume, last


def _side(
    is_call: bool,
    S, K, T, r, q, dte, iv_true, variance, rng: np.random.Generator,
) -> dict[str, np.ndarray]:  # fmt: skip
    n = len(S)
    prefix = "C_" if is_call else "P_"
    iv = iv_true * rng.lognormal(0.0, 0.02, n)
    mid = bs_price(S, K, T, r, q, iv, is_call)
    bid, ask, bid_size, ask_size = _quotes(mid, iv, T, rng)
    forward = S * np.exp((r - q) * T)
    atm = atm_vol(variance, np.maximum(T, 0.5 / DAYS_PER_YEAR))
    z = np.log(K / forward) / (atm * np.sqrt(np.maximum(T, 0.5 / DAYS_PER_YEAR)))
    volume, last = _trades(mid, bid, ask, z, dte, rng)
    # IV is empty at expiry and deep in the money: far in standardized
    # moneyness, or where the bid is below the intrinsic value (no time value
    # for a solver to invert); and occasionally at random. Greeks are printed
    # everywhere, from the quoted IV where there is one, else from the surface.
    intrinsic = np.maximum(S - K, 0.0) if is_call else np.maximum(K - S, 0.0)
    moneyness = -z if is_call else z
    deep_itm = (moneyness > 2.6) | ((moneyness > 1.0) & (bid < intrinsic))
    empty = (dte == 0) | deep_itm | (rng.random(n) < 0.002)
    iv_out = np.where(empty, np.nan, iv)
    greeks = bs_greeks(S, K, T, r, q, np.where(empty, iv_true, iv), is_call)
    return {
        prefix + "DELTA": greeks.delta,
        prefix + "GAMMA": greeks.gamma,
        prefix + "VEGA": greeks.vega,
        prefix + "THETA": greeks.theta,
        prefix + "RHO": greeks.rho,
        prefix + "IV": iv_out,
        prefix + "VOLUME": volume,
        prefix + "LAST": last,
        prefix + "BID": bid,
        prefix + "ASK": ask,
        prefix + "BID_SIZE": bid_size,
        prefix + "ASK_SIZE": ask_size,
    }


def build_chunk(
    underlying: pd.DataFrame, spec: ChainSpec, expiries: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Every listed contract on the dates of ``underlying`` with its quotes."""
    q_date, e_date, dte = _expiry_pairs(pd.DatetimeIndex(underlying.index), spec, expiries)
    state = underlying.loc[q_date]
    S = state["spot"].to_numpy()
    r = state["rate"].to_numpy()
    q = state["dividend_yield"].to_numpy()
    v = state["variance"].to_numpy()
    fast = state["fast_factor"].to_numpy()
    T = dte / DAYS_PER_YEAR
    # A per (date, expiry) level shock on top of the smooth surface.
    level = rng.lognormal(0.0, 0.015, len(S))
    strike, owner = list_contracts(S, S * np.exp((r - q) * T), T, v, spec)

    S, r, q, v, fast, T, dte, level = (a[owner] for a in (S, r, q, v, fast, T, dte, level))
    forward = S * np.exp((r - q) * T)
    iv_true = iv_surface(np.log(strike / forward), T, v, fast) * level
    columns: dict[str, np.ndarray] = {
        "QUOTE_DATE": q_date[owner],
        "QUOTE_TIME_HOURS": np.full(len(S), 16.0),
        "UNDERLYING_LAST": S,
        "EXPIRE_DATE": e_date[owner],
        "DTE": dte.astype(float),
        "STRIKE": strike,
    }
    columns.update(_side(True, S, strike, T, r, q, dte, iv_true, v, rng))
    columns.update(_side(False, S, strike, T, r, q, dte, iv_true, v, rng))
    distance = np.abs(strike - S)
    columns["STRIKE_DISTANCE"] = distance
    columns["STRIKE_DISTANCE_PCT"] = distance / S
    return pd.DataFrame(columns)


def chain_chunks(
    underlying: pd.DataFrame, spec: ChainSpec, rng: np.random.Generator
) -> Iterator[pd.DataFrame]:
    """Yield the chain ``spec.chunk_days`` quote dates at a time, in date order."""
    last = END + dt.timedelta(days=spec.leaps_horizon + 40)
    expiries = expiry_calendar(spec.weekly_days, last)
    for start in range(0, len(underlying), spec.chunk_days):
        yield build_chunk(underlying.iloc[start : start + spec.chunk_days], spec, expiries, rng)
