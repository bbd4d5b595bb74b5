"""The option price task's samples (DESIGN section 4): features known at t-1, the
baselines' prices, the chronological split and the build over the clean quotes."""

from optvol.core.options.samples.baselines import (
    ANCHOR,
    BASELINE_DESCRIPTIONS,
    BASELINES,
    GRU,
    PRACTITIONER,
    baseline_prices,
    leverage_iv,
)
from optvol.core.options.samples.build import build_samples
from optvol.core.options.samples.config import SampleConfig
from optvol.core.options.samples.features import (
    HISTORY_FEATURES,
    MAX_VENDOR_IV,
    RECENT_DAYS,
    SEQUENCE_FEATURES,
    STATIC_FEATURES,
    TRADING_DAYS_PER_YEAR,
    PreviousQuote,
    cumulative_squares,
    deviation_vs_recent,
    historical_vol_into,
    historical_vol_of_returns,
    historical_vol_of_sums,
    history_values,
    implied_vols,
    pricing_inputs,
    static_features,
    surface_inputs,
    window_days,
    window_indices,
)
from optvol.core.options.samples.leverage import LeverageBetas, fit_leverage_betas
from optvol.core.options.samples.sample_set import ContractQuotes, OptionSamples
from optvol.core.options.samples.split import SPLITS, split_of

__all__ = [
    "ANCHOR",
    "BASELINES",
    "BASELINE_DESCRIPTIONS",
    "ContractQuotes",
    "GRU",
    "HISTORY_FEATURES",
    "LeverageBetas",
    "MAX_VENDOR_IV",
    "OptionSamples",
    "PRACTITIONER",
    "PreviousQuote",
    "RECENT_DAYS",
    "SEQUENCE_FEATURES",
    "SPLITS",
    "STATIC_FEATURES",
    "SampleConfig",
    "TRADING_DAYS_PER_YEAR",
    "baseline_prices",
    "build_samples",
    "cumulative_squares",
    "deviation_vs_recent",
    "fit_leverage_betas",
    "historical_vol_of_returns",
    "historical_vol_into",
    "historical_vol_of_sums",
    "history_values",
    "implied_vols",
    "leverage_iv",
    "pricing_inputs",
    "split_of",
    "static_features",
    "surface_inputs",
    "window_days",
    "window_indices",
]
