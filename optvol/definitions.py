"""The optvol code location: every asset, check, job, sensor, schedule and resource in one
Definitions object."""

from __future__ import annotations

import dagster as dg

from optvol.assets.compute import executor
from optvol.assets.options import (
    gru_model,
    option_evaluation,
    option_quotes,
    option_report,
    raw_option_quotes,
)
from optvol.assets.volatility import (
    market_features,
    raw_market,
    volatility_evaluation,
    volatility_model,
    volatility_report,
)
from optvol.automation import jobs, schedules, sensors
from optvol.checks import asset_checks
from optvol.io_managers import JsonIOManager, ModelIOManager, ParquetIOManager
from optvol.resources import DataRoot

assets = [
    raw_option_quotes,
    option_quotes,
    gru_model,
    option_evaluation,
    option_report,
    raw_market,
    market_features,
    volatility_model,
    volatility_evaluation,
    volatility_report,
]


def resources_for(root: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources with the data root ``root`` (``None``: ``$OPTVOL_DATA_DIR`` or ./data)."""
    return {
        "io_manager": ParquetIOManager(root=root),
        "model_io_manager": ModelIOManager(root=root),
        "json_io_manager": JsonIOManager(root=root),
        "data_root": DataRoot(root=root),
    }


defs = dg.Definitions(
    assets=assets,
    asset_checks=asset_checks,
    jobs=jobs,
    sensors=sensors,
    schedules=schedules,
    resources=resources_for(),
    executor=executor,
)
