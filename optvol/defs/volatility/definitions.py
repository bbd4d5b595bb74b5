"""The volatility pipeline as one Definitions: its assets and their checks."""

import dagster as dg

from optvol.defs.volatility.assets import (
    market_features,
    raw_market,
    volatility_evaluation,
    volatility_model,
    volatility_report,
)
from optvol.defs.volatility.checks import asset_checks

defs = dg.Definitions(
    assets=[
        raw_market,
        market_features,
        volatility_model,
        volatility_evaluation,
        volatility_report,
    ],
    asset_checks=asset_checks,
)
