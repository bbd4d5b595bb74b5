"""The optvol code location: every asset, check and resource in one Definitions object."""

from __future__ import annotations

import dagster as dg

from optvol.assets.options import option_quotes, raw_option_quotes
from optvol.assets.volatility import market_features, raw_market
from optvol.checks import asset_checks
from optvol.io_managers import ParquetIOManager
from optvol.resources import DataRoot

defs = dg.Definitions(
    assets=[raw_option_quotes, option_quotes, raw_market, market_features],
    asset_checks=asset_checks,
    resources={"io_manager": ParquetIOManager(), "data_root": DataRoot()},
)
