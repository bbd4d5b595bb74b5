"""The forward of each expiry from put-call parity, and the carry it implies.

A European call and put of one strike ``K`` and expiry satisfy put-call parity,

.. math::

   C - P = e^{-rT} (F - K) \\quad\\Longleftrightarrow\\quad F = K + e^{rT} (C - P),

so every strike quoted on both sides gives an estimate of the forward ``F`` that the
options themselves price, whatever the vendor's figure for the underlying says. That
figure is often not synchronous with the option close: Cboe's index options trade 15
minutes after the index's last value, and a volatile last quarter-hour leaves the vendor's
spot tens of basis points from the level the options price. Implied vols solved against
the vendor's spot then disagree between calls and puts and carry that error into every
model that starts from them. Practitioners solve them against each expiry's
parity-implied forward instead (Cboe's VIX methodology takes ``F`` the same way, at the
strike where call and put prices are closest).

The estimate of an expiry on a quote date is the median of ``K + e^{rT}(C - P)`` over the
``PARITY_PAIRS`` strikes with the smallest ``|C - P|`` (the strikes nearest the forward,
where both sides are liquid and early exercise of American options is worth least), from
usable quotes only. The implied carry is :math:`c = \\ln(F/S)/T`: with it, Black-Scholes
at the vendor's spot ``S`` and the dividend yield ``r - c`` prices at the forward ``F``.
Where an expiry has no strike with both sides usable, or the estimate lies implausibly
far from the spot (:data:`MAX_BASIS`), the forward is missing and the models fall back to
the configured rate and dividend yield.

The discount rate inside the parity, :data:`PARITY_RATE`, moves ``F`` by
:math:`(C - P)(e^{rT} - 1)`; at the strikes used, where :math:`|C - P|` is small, a
percentage point of rate moves the forward by well under a basis point.

References
----------
.. [1] Hull, J. C. "Options, Futures and Other Derivatives", section "Put-call parity".
.. [2] Cboe (2019) "Cboe Volatility Index (VIX) White Paper", step 1: the forward index
   level of each expiry from the strike with the smallest call-put difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MAX_BASIS", "PARITY_PAIRS", "PARITY_RATE", "ParityForwards", "parity_forwards"]

PARITY_PAIRS = 5
PARITY_RATE = 0.02
# |ln(F/S)| above this (a basis plus a carry of 20% a year) is a bad pair, not a forward.
MAX_BASIS = (0.03, 0.20)  # (constant, per year of T)


@dataclass(frozen=True)
class ParityForwards:
    """Per quote: the parity forward of its expiry on its date (NaN where none), the
    carry :math:`\\ln(F/S)/T` it implies (NaN where none) and the number of strikes it
    was taken from (0 where none)."""

    forward: np.ndarray
    carry: np.ndarray
    pairs: np.ndarray


def parity_forwards(
    quote_date: np.ndarray,
    expiry_class: np.ndarray,
    strike: np.ndarray,
    is_call: np.ndarray,
    mid: np.ndarray,
    tau: np.ndarray,
    underlying: np.ndarray,
    usable: np.ndarray,
    rate: float = PARITY_RATE,
) -> ParityForwards:
    """The parity forward of every quote's expiry (see the module).

    Parameters
    ----------
    quote_date : ndarray
        The quote date of each quote (any type that compares equal on the same day).
    expiry_class : ndarray of int
        A code of each quote's expiration and option class (SPX and SPXW of one date are
        different expiries: one settles at the open, the other at the close).
    strike, mid, tau, underlying : ndarray
        Strike, mid price, time to expiry in years and the vendor's underlying price.
    is_call, usable : ndarray of bool
        Call or put, and whether the quote is usable (a pair needs both sides usable).
    rate : float
        The discount rate inside the parity.
    """
    n = len(strike)
    frame = pd.DataFrame(
        {
            "date": pd.factorize(quote_date)[0],
            "expiry": np.asarray(expiry_class),
            "strike": np.asarray(strike, float),
            "is_call": np.asarray(is_call, bool),
            "mid": np.asarray(mid, float),
            "tau": np.asarray(tau, float),
            "row": np.arange(n),
        }
    )
    live = np.asarray(usable, bool) & np.isfinite(frame["mid"].to_numpy())
    live &= frame["tau"].to_numpy() > 0
    keys = ["date", "expiry", "strike"]
    calls = frame[live & frame["is_call"].to_numpy()].set_index(keys)
    puts = frame[live & ~frame["is_call"].to_numpy()].set_index(keys)
    pairs = calls[["mid", "tau"]].join(puts[["mid"]], rsuffix="_put", how="inner").reset_index()
    difference = pairs["mid"].to_numpy() - pairs["mid_put"].to_numpy()
    pairs["estimate"] = pairs["strike"].to_numpy() + np.exp(rate * pairs["tau"]) * difference
    pairs["closeness"] = np.abs(difference)
    pairs = pairs.sort_values(["date", "expiry", "closeness"], kind="stable")
    nearest = pairs[pairs.groupby(["date", "expiry"]).cumcount() < PARITY_PAIRS]
    by_expiry = nearest.groupby(["date", "expiry"])["estimate"].agg(["median", "size"])

    index = pd.MultiIndex.from_arrays([frame["date"], frame["expiry"]])
    found = by_expiry.reindex(index)
    forward = found["median"].to_numpy(float)
    count = np.nan_to_num(found["size"].to_numpy(float)).astype(np.int16)
    tau_ = frame["tau"].to_numpy()
    spot = np.asarray(underlying, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        basis = np.log(forward / spot)
        plausible = np.abs(basis) <= MAX_BASIS[0] + MAX_BASIS[1] * np.maximum(tau_, 0.0)
        plausible &= np.isfinite(basis) & (tau_ > 0)
        carry = np.where(plausible, basis / np.where(tau_ > 0, tau_, 1.0), np.nan)
    forward = np.where(plausible, forward, np.nan)
    count = np.where(plausible, count, 0).astype(np.int16)
    return ParityForwards(forward, carry, count)
