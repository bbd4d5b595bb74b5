"""A contract's history supplied by the caller, made into the window the GRU reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from optvol.core.common.errors import RequestError
from optvol.core.options.ingest.clean import is_am_settled, time_to_expiry
from optvol.core.options.prediction.requests import ContractRequest
from optvol.core.options.pricing.iv_surface import evaluate_surface
from optvol.core.options.samples import (
    HISTORY_FEATURES,
    MAX_VENDOR_IV,
    OptionSamples,
    PreviousQuote,
    history_values,
    implied_vols,
)


def supplied_window(
    request: ContractRequest,
    sample_day: int,
    where: str,
    samples: OptionSamples,
    position_of: Callable[[date], int | None],
) -> tuple[np.ndarray, np.ndarray, PreviousQuote]:
    """The window ``(L, HISTORY_FEATURES)`` float32 (0 where not quoted), its quoted mask
    and the ``t-1`` quote of ``request.history``, each value computed as the samples
    compute a quote of the data, on the data's underlying price of its day. Raises
    :class:`RequestError` naming the first unusable day."""
    L = samples.config.sequence_length
    calendar = samples.calendar
    history = sorted(request.history, key=lambda quote: quote.date)
    if not history:
        raise RequestError("history is empty: give at least the t-1 quote", f"{where}.history")
    positions = []
    for i, quote in enumerate(history):
        position = position_of(quote.date)
        if position is None or position >= sample_day:
            raise RequestError(
                f"history date {quote.date} is not a trading day of the data before "
                f"as_of {request.as_of}",
                f"{where}.history[{i}].date",
            )
        if quote.date > request.expiration:
            raise RequestError(
                f"history date {quote.date} is after the expiration", f"{where}.history"
            )
        if quote.iv is not None and not 0 < quote.iv <= MAX_VENDOR_IV:
            raise RequestError(
                f"history iv {quote.iv} is not a decimal implied vol in (0, {MAX_VENDOR_IV:g}]",
                f"{where}.history[{i}].iv",
            )
        positions.append(position)
    positions = np.asarray(positions)
    if len(np.unique(positions)) != len(positions):
        raise RequestError("history has two quotes on one date", f"{where}.history")
    if positions[-1] != sample_day - 1:
        previous_day = pd.Timestamp(calendar[sample_day - 1]).date()
        raise RequestError(
            f"history must include the trading day before as_of ({previous_day}); its last "
            f"date is {history[-1].date}",
            f"{where}.history",
        )
    keep = positions > sample_day - 1 - L
    positions = positions[keep]
    quotes = [q for q, k in zip(history, keep, strict=True) if k]
    n = len(quotes)
    spot = samples.spot_of_day[positions]
    strike = np.full(n, float(request.strike))
    calls = np.full(n, request.option_type == "C")
    mid = np.array([q.mid for q in quotes], dtype=float)
    vendor_iv = np.array([np.nan if q.iv is None else q.iv for q in quotes], dtype=float)
    expiry = np.datetime64(request.expiration, "D")
    root = request.root
    if root is None:
        classes = samples.classes_of(expiry)
        if len(classes) > 1:
            raise RequestError(
                f"the data hold the expiry {request.expiration} in several option classes "
                f"{classes}: give the contract's root",
                f"{where}.root",
            )
        root = classes[0] if classes else ""
    days = (expiry - calendar[positions].astype("datetime64[D]")).astype(np.float64)
    tau = time_to_expiry(days, is_am_settled(np.array([root])))
    config = samples.config
    carry = samples.carry_on(positions, expiry, root)
    iv_from_mid, iv = implied_vols(mid, spot, strike, tau, vendor_iv, calls, carry, config)
    log_moneyness = np.log(spot / strike) + carry * tau
    surface = evaluate_surface(samples.market.surface_coef[positions], -log_moneyness, tau)
    iv_minus_surface = iv - surface
    values = history_values(mid, spot, strike, tau, iv, calls, iv_minus_surface, carry, config)
    window = np.zeros((L, len(HISTORY_FEATURES)), dtype=np.float32)
    quoted = np.zeros(L, dtype=bool)
    offsets = positions - (sample_day - L)
    window[offsets] = np.nan_to_num(values)
    quoted[offsets] = True
    last = [-1]
    previous = PreviousQuote(
        mid[last], iv[last], iv_from_mid[last], iv_minus_surface[last],
        log_moneyness[last], tau[last], carry[last],
    )  # fmt: skip
    if not np.isfinite(previous.iv_from_mid[0]):
        raise RequestError(
            f"the t-1 mid {mid[-1]:g} has no Black-Scholes implied vol at the "
            f"underlying's {spot[-1]:g} (below intrinsic value or above the bound)",
            f"{where}.history",
        )
    return window, quoted, previous
