"""The resources every asset shares (the IO managers and the settings) and the run
executor, as the code location's Definitions, all from one
:class:`~optvol.defs.shared.settings.Settings` read when the definitions load."""

from __future__ import annotations

import dagster as dg

from optvol.defs.io_managers import JsonIOManager, ModelIOManager, ParquetIOManager
from optvol.defs.shared.executor import executor_named
from optvol.defs.shared.settings import Settings

DEFAULT_EXECUTOR = "in_process"


def resources_for(
    root: str | None = None, settings: Settings | None = None
) -> dict[str, dg.ConfigurableResource]:
    """The resources of ``settings`` (those of the environment by default); a ``root``
    puts the data and every artifact there (tests, ``optvol demo --data-dir``)."""
    if settings is None:
        overrides = {"data_dir": root, "artifact_root": root} if root else {}
        settings = Settings.from_env(**overrides)
    artifacts = settings.artifact_location
    return {
        "io_manager": ParquetIOManager(root=artifacts),
        "model_io_manager": ModelIOManager(root=artifacts),
        "json_io_manager": JsonIOManager(root=artifacts),
        "settings": settings,
    }


@dg.definitions
def resources() -> dg.Definitions:
    settings = Settings.at_load()
    executor = executor_named(settings.executor or DEFAULT_EXECUTOR)
    return dg.Definitions(resources=resources_for(settings=settings), executor=executor)
