"""The resources every asset shares (the IO managers and the data root) and the run
executor, as the code location's Definitions."""

from __future__ import annotations

import os

import dagster as dg

from optvol.defs.io_managers import JsonIOManager, ModelIOManager, ParquetIOManager
from optvol.defs.shared.executor import executor_named
from optvol.defs.shared.resources import DataRoot


def resources_for(root: str | None = None) -> dict[str, dg.ConfigurableResource]:
    """The resources with the data root ``root`` (``None``: ``$OPTVOL_DATA_DIR`` or ./data)."""
    return {
        "io_manager": ParquetIOManager(root=root),
        "model_io_manager": ModelIOManager(root=root),
        "json_io_manager": JsonIOManager(root=root),
        "data_root": DataRoot(root=root),
    }


@dg.definitions
def resources() -> dg.Definitions:
    executor = executor_named(os.environ.get("OPTVOL_EXECUTOR", "").strip() or "in_process")
    return dg.Definitions(resources=resources_for(), executor=executor)
