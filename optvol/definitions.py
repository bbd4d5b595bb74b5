"""The optvol code location: each pipeline's definitions (options, volatility), the
automation that runs them, and the resources and executor they share, merged into one
Definitions object."""

from __future__ import annotations

import dagster as dg

from optvol.defs.automation import definitions as automation
from optvol.defs.io_managers import JsonIOManager, ModelIOManager, ParquetIOManager
from optvol.defs.options import definitions as options
from optvol.defs.shared.executor import executor
from optvol.defs.shared.resources import DataRoot
from optvol.defs.volatility import definitions as volatility

# Dagster loads the one Definitions object at module scope, so the pipelines' own are
# reached through their modules.
PIPELINES = (options.defs, volatility.defs)
# Every asset and check of both pipelines, in pipeline order (the CLI and the tests
# materialize them with resources of their own).
assets = [asset for pipeline in PIPELINES for asset in pipeline.assets]
asset_checks = [check for pipeline in PIPELINES for check in pipeline.asset_checks]


def resources_for(root: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources with the data root ``root`` (``None``: ``$OPTVOL_DATA_DIR`` or ./data)."""
    return {
        "io_manager": ParquetIOManager(root=root),
        "model_io_manager": ModelIOManager(root=root),
        "json_io_manager": JsonIOManager(root=root),
        "data_root": DataRoot(root=root),
    }


defs = dg.Definitions.merge(
    *PIPELINES,
    automation.defs,
    dg.Definitions(resources=resources_for(), executor=executor),
)
