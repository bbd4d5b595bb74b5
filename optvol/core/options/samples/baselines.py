"""The baselines of the option price task (DESIGN section 4): what each prices with,
their prices of a sample, and the one the GRU corrects (:data:`ANCHOR`)."""

from __future__ import annotations

import numpy as np

from optvol.core.options.pricing.black_scholes import bs_price
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import PreviousQuote

# The baselines of DESIGN §4, in the order the reports list them; each is a column of
# OptionSamples.rows holding its price of the sample.
BASELINES = (
    "practitioner_bs",
    "practitioner_bs_mid_iv",
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
    "at the configured rate and dividend yield (the GRU corrects this one)",
    "adhoc_bs": "Ad-hoc Black-Scholes (Dumas, Fleming & Whaley 1998): the t-1 IV surface, "
    "quadratic in moneyness and maturity, at today's moneyness",
    "historical_bs": "Black-Scholes with the underlying's 21-day historical volatility",
    "prev_mid": "Yesterday's mid",
}
# The GRU learns a correction to the implied vol of this baseline (OptionSamples.anchor_iv):
# the strongest baseline, since its implied vol is solved with the same rate and dividend
# yield it reprices with, while a vendor's IV may assume another rate.
ANCHOR = "practitioner_bs_mid_iv"


def baseline_prices(
    spot: np.ndarray,
    strike: np.ndarray,
    tau: np.ndarray,
    is_call: np.ndarray,
    previous: PreviousQuote,
    surface_iv: np.ndarray,
    historical_vol: np.ndarray,
    config: SampleConfig,
) -> dict[str, np.ndarray]:
    """The price of every baseline (``BASELINES``) at ``S_t`` and today's ``tau``."""
    r, q = config.risk_free_rate, config.dividend_yield
    return {
        "practitioner_bs": bs_price(spot, strike, tau, r, q, previous.iv, is_call),
        "practitioner_bs_mid_iv": bs_price(spot, strike, tau, r, q, previous.iv_from_mid, is_call),
        "adhoc_bs": bs_price(spot, strike, tau, r, q, surface_iv, is_call),
        "historical_bs": bs_price(spot, strike, tau, r, q, historical_vol, is_call),
        "prev_mid": previous.mid,
    }
