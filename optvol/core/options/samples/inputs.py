"""A sample's inputs and every baseline's price at any given price of the underlying.

A prediction for day ``t`` knows the contract's past and the underlying's price ``S_t``
the user gives. Everything that depends on ``S_t`` -- the return into ``t``, the
moneyness, the historical vol into ``t``, the surface at today's point, each baseline's
vol and price and the static inputs of the network -- is computed here, by one function,
from what is fixed before ``t`` (:class:`SampleContext`, :class:`MarketDays`). The samples
are built with it at the data's own ``S_t``; the hedging evaluation calls it at
:math:`S_{t-1}(1 \\pm h)` to take each model's delta; the API calls it at the requested
price. So a model's price, its delta and its answer to a request are one function.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from optvol.core.common.trading_calendar import trading_days_between
from optvol.core.options.pricing.black_scholes import bs_greeks
from optvol.core.options.pricing.iv_surface import surface_slope
from optvol.core.options.samples.baselines import ANCHOR_CANDIDATES, baseline_prices, leverage_iv
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import (
    PreviousQuote,
    business_time_change,
    dividend_yield_of,
    historical_vol_into,
    log_moneyness_at,
    static_features,
    surface_inputs,
)
from optvol.core.options.samples.fitted import FittedBaselines, hull_white_iv

__all__ = [
    "MarketDays",
    "anchor_vol",
    "SampleContext",
    "SpotInputs",
    "baseline_prices_at",
    "call_delta_and_vega",
    "inputs_at_spot",
    "sample_context",
]


@dataclass
class SampleContext:
    """What a sample's inputs at ``t`` are computed from, besides ``S_t``: one entry per
    sample. ``day`` is the calendar index of ``t``; ``previous_spot`` is
    :math:`S_{t-1}`; ``tau`` and ``dte_days`` are at ``t``; ``time_change`` is the
    :func:`~optvol.core.options.samples.features.business_time_change` of its vol;
    ``call_delta`` and ``vega`` (per unit of vol) the Black-Scholes delta of the call of
    its strike and its vega at ``t-1`` (the Hull-White baseline's variable and weight);
    ``recent`` the ``iv_deviation_vs_recent`` of its window."""

    previous: PreviousQuote
    previous_spot: np.ndarray
    strike: np.ndarray
    is_call: np.ndarray
    tau: np.ndarray
    dte_days: np.ndarray
    day: np.ndarray
    time_change: np.ndarray
    days_since_previous: np.ndarray
    call_delta: np.ndarray
    vega: np.ndarray
    recent: np.ndarray
    forward_fallback: np.ndarray

    def take(self, index: np.ndarray | slice) -> SampleContext:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return SampleContext(
            **{
                name: v.take(index) if name == "previous" else v[index]
                for name, v in values.items()
            }
        )

    def __len__(self) -> int:
        return len(self.strike)


@dataclass
class MarketDays:
    """Per calendar day of the data: the day's smoothed implied-vol surface (row ``d``,
    :func:`~optvol.core.options.pricing.iv_surface.fit_daily_surfaces`), the running
    sums of the underlying's squared returns
    (:func:`~optvol.core.options.samples.features.cumulative_squares`) and the historical
    vol of the returns up to the day
    (:func:`~optvol.core.options.samples.features.historical_vol_of_sums`)."""

    surface_coef: np.ndarray
    squared_returns: np.ndarray
    historical_vol: np.ndarray


@dataclass
class SpotInputs:
    """The inputs at one price per sample: the static inputs of the network (float32),
    each baseline's vol (``BASELINES`` but ``prev_mid``), the return into ``t`` and the
    historical vol into ``t``."""

    static: np.ndarray
    vols: dict[str, np.ndarray]
    underlying_return: np.ndarray
    historical_vol: np.ndarray


def call_delta_and_vega(
    previous: PreviousQuote, previous_spot: np.ndarray, strike: np.ndarray,
    config: SampleConfig,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The Black-Scholes delta at ``t-1`` of the call of each strike and its vega per unit
    of vol, at the contract's ``t-1`` vol solved from its mid and its expiry's carry (NaN
    where there is no vol)."""
    greeks = bs_greeks(
        previous_spot, strike, previous.tau, config.risk_free_rate,
        dividend_yield_of(previous.carry, config), previous.iv_from_mid, True,
    )  # fmt: skip
    known = np.isfinite(previous.iv_from_mid)
    return np.where(known, greeks.delta, np.nan), np.where(known, greeks.vega * 100.0, np.nan)


def sample_context(
    previous: PreviousQuote,
    previous_spot: np.ndarray,
    strike: np.ndarray,
    is_call: np.ndarray,
    dates: tuple[np.ndarray, np.ndarray, np.ndarray],
    tau: np.ndarray,
    day: np.ndarray,
    recent: np.ndarray,
    forward_fallback: np.ndarray,
    am_settled: np.ndarray,
    config: SampleConfig,
) -> SampleContext:
    """The :class:`SampleContext` of contracts priced on calendar day ``day``, with
    ``dates`` the ``(t, t-1, expiration)`` of each as ``datetime64[D]``: the days to
    expiry, the business-time vol change, the days since ``t-1`` and the ``t-1`` call
    delta and vega are computed here, for the samples and the API alike. An
    ``am_settled`` contract lives through the sessions before its expiration day only (it
    settles at that day's open)."""
    today, yesterday, expiry = dates
    call_delta, vega = call_delta_and_vega(previous, previous_spot, strike, config)
    last_session = expiry - np.where(am_settled, 1, 0).astype("timedelta64[D]")
    time_change = business_time_change(
        previous.iv_from_mid, tau, previous.tau,
        trading_days_between(today, last_session), trading_days_between(yesterday, last_session),
    )  # fmt: skip
    return SampleContext(
        previous=previous,
        previous_spot=previous_spot,
        strike=strike,
        is_call=is_call,
        tau=tau,
        dte_days=(expiry - today).astype(np.int64),
        day=day,
        time_change=time_change,
        days_since_previous=(today - yesterday).astype(np.float64),
        call_delta=call_delta,
        vega=vega,
        recent=recent,
        forward_fallback=forward_fallback,
    )


def anchor_vol(
    name: str, context: SampleContext, underlying_return: np.ndarray, fitted: FittedBaselines
) -> np.ndarray:
    """The vol at which the baseline ``name`` (one of ``ANCHOR_CANDIDATES``) prices the
    samples ``context`` given the return into ``t``."""
    previous = context.previous
    if name == "leverage_bs":
        return leverage_iv(previous, underlying_return, context.dte_days, fitted.leverage)
    if name == "hull_white_bs":
        return hull_white_iv(previous, underlying_return, context.call_delta, fitted.hull_white)
    if name == "practitioner_bs_mid_iv":
        return previous.iv_from_mid
    raise ValueError(f"no anchor {name!r}; one of {ANCHOR_CANDIDATES}")


def inputs_at_spot(
    spot: np.ndarray,
    context: SampleContext,
    market: MarketDays,
    fitted: FittedBaselines,
    config: SampleConfig,
) -> SpotInputs:
    """Every input and baseline vol of the samples ``context`` at the underlying prices
    ``spot`` (one per sample)."""
    previous, day = context.previous, context.day
    with np.errstate(divide="ignore", invalid="ignore"):
        underlying_return = np.log(spot / context.previous_spot)
    historical_vol = historical_vol_into(
        market.squared_returns, day, underlying_return, config.historical_vol_days
    )
    log_moneyness = log_moneyness_at(spot, context.strike, context.tau, previous)
    surface_iv, _ = surface_inputs(
        market.surface_coef[day - 1], log_moneyness, context.tau, previous
    )
    vols = {
        "practitioner_bs": previous.iv,
        **{name: anchor_vol(name, context, underlying_return, fitted)
           for name in ANCHOR_CANDIDATES},
        "adhoc_bs": surface_iv,
        "historical_bs": historical_vol,
    }  # fmt: skip
    slope = surface_slope(market.surface_coef[day - 1], -previous.log_moneyness, previous.tau)
    static = static_features(
        underlying_return, market.historical_vol[day - 1], previous, slope, context.time_change,
        context.days_since_previous, day, context.recent, context.forward_fallback,
        context.is_call, config,
    )  # fmt: skip
    return SpotInputs(static, vols, underlying_return, historical_vol)


def baseline_prices_at(
    spot: np.ndarray, context: SampleContext, vols: dict[str, np.ndarray], config: SampleConfig
) -> dict[str, np.ndarray]:
    """The price of every baseline (``BASELINES``) at ``spot``, today's time to expiry and
    the ``t-1`` carry, from its vol in ``vols`` (``prev_mid`` needs none)."""
    return baseline_prices(
        spot, context.strike, context.tau, context.is_call, context.previous, vols, config
    )
