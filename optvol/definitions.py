"""The optvol code location: every asset, check, job, sensor, schedule and resource in one
Definitions object."""

from __future__ import annotations

import dagster as dg

from optvol.defs.automation.sensors import jobs, schedules, sensors
from optvol.defs.io_managers.parquet import JsonIOManager, ModelIOManager, ParquetIOManager
from optvol.defs.options.assets import (
    gru_model,
    option_evaluation,
    option_quotes,
    option_report,
    raw_option_quotes,
)
from optvol.defs.shared.checks import asset_checks
from optvol.defs.shared.executor import executor
from optvol.defs.shared.resources import DataRoot
from optvol.defs.volatility.assets import (
    market_features,
    raw_market,
    volatility_evaluation,
    volatility_model,
    volatility_report,
)

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
