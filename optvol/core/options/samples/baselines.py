"""The baselines of the option price task (docs/architecture.md §4): what each prices with,
their prices of a sample, and the one the GRU corrects (:data:`ANCHOR`)."""

from __future__ import annotations

import numpy as np

from optvol.core.common.numeric import nan_to_num
from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import PreviousQuote, dividend_yield_of
from optvol.core.options.samples.leverage import LeverageBetas

# The baselines of docs/architecture.md §4, in the order the reports list them; each is a column of
# OptionSamples.rows holding its price of the sample.
BASELINES = (
    "practitioner_bs",
    "practitioner_bs_mid_iv",
    "leverage_bs",
    "hull_white_bs",
    "adhoc_bs",
    "historical_bs",
    "prev_mid",
)
GRU = "gru"  # the model's name in the evaluation, beside the baselines
# What each baseline prices with, for the evaluation document and the report.
BASELINE_DESCRIPTIONS = {
    "practitioner_bs": "Black-Scholes at S_t with the contract's t-1 vendor IV (solved "
    "from the t-1 mid where the vendor has none)",
    "practitioner_bs_mid_iv": "Black-Scholes at S_t with the t-1 IV solved from the t-1 mid "
    "at the expiry's t-1 parity forward",
    "leverage_bs": "Leverage-adjusted practitioner Black-Scholes: the t-1 mid IV plus "
    "beta_b times the underlying's log return into t, beta_b fitted by least squares on "
    "the training dates per moneyness x maturity bucket and shrunk toward the buckets' "
    "common slope by its day-clustered precision",
    "hull_white_bs": "Hull & White (2017) expected vol change: the t-1 mid IV plus "
    "(a + b delta + c delta^2) r_t / sqrt(T), a, b, c fitted on the training dates",
    "adhoc_bs": "Ad-hoc Black-Scholes (Dumas, Fleming & Whaley 1998): the t-1 IV surface, "
    "quadratic in moneyness and maturity, at today's moneyness",
    "historical_bs": "Black-Scholes with the underlying's 21-day historical volatility",
    "prev_mid": "Yesterday's mid",
}
# Practitioner Black-Scholes at the t-1 vol solved from the mid: the reference the GRU's
# RMSE is stated against (its vol is solved at the rate and forward it reprices with).
PRACTITIONER = "practitioner_bs_mid_iv"
# The GRU corrects the implied vol of one of these, chosen on each training window's
# validation days (OptionSamples.anchor); ANCHOR until one is chosen.
ANCHOR_CANDIDATES = ("leverage_bs", "hull_white_bs", "practitioner_bs_mid_iv")
ANCHOR = "leverage_bs"
# The leverage-adjusted vol is floored here: a large return never prices at no vol.
MIN_LEVERAGE_VOL = 0.01


def leverage_iv(
    previous: PreviousQuote, underlying_return: np.ndarray, dte_days: np.ndarray,
    betas: LeverageBetas,
) -> np.ndarray:  # fmt: skip
    """:math:`\\max(\\sigma_{t-1} + \\beta_b r_t, 0.01)`: the contract's ``t-1`` vol solved
    from the mid, moved by its bucket's slope (by ``ln(K/F_{t-1})`` and days to expiry at
    ``t``) times the underlying's log return into ``t``."""
    beta = betas.beta(-previous.log_moneyness, dte_days)
    moved = previous.iv_from_mid + beta * nan_to_num(underlying_return)
    return np.maximum(moved, MIN_LEVERAGE_VOL)


# Up to this many contracts the baselines are priced in one stacked call; beyond, one
# call each, so that the training set's millions of samples do not hold six times the
# Black-Scholes intermediates at once.
STACKED_MAX_ROWS = 4096


def baseline_prices(
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    is_call: np.ndarray,
    previous: PreviousQuote,
    vols: dict[str, np.ndarray],
    config: SampleConfig,
) -> dict[str, np.ndarray]:
    """The price of every baseline (``BASELINES``) at ``S_t``, today's ``tau`` and the
    ``t-1`` carry, from its vol in ``vols`` (``prev_mid`` is the ``t-1`` mid)."""
    r, q = config.risk_free_rate, dividend_yield_of(previous.carry, config)
    if np.size(spot) > STACKED_MAX_ROWS:
        prices = [bs_price(spot, strike, tau, r, q, vol, is_call) for vol in vols.values()]
    else:
        # One call over the stacked vols (row b is baseline b): the same elementwise
        # arithmetic, so the same prices bit for bit, at a third of the overhead of six
        # calls, which is most of the cost of pricing the few contracts of a request.
        stacked = np.empty((len(vols), *np.shape(spot)))
        for row, vol in zip(stacked, vols.values(), strict=True):
            row[...] = vol
        prices = bs_price(
            spot[None], strike[None], tau[None], r, np.asarray(q)[None], stacked, is_call[None]
        )
    priced = {**dict(zip(vols, prices, strict=True)), "prev_mid": previous.mid}
    return {name: priced[name] for name in BASELINES}
