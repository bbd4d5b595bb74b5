"""IO managers that persist the assets under the artifact root: Parquet tables, model
files and JSON documents."""

from optvol.defs.io_managers.base import ArtifactIOManager
from optvol.defs.io_managers.json import JsonIOManager
from optvol.defs.io_managers.model import ModelIOManager
from optvol.defs.io_managers.parquet import ParquetIOManager

__all__ = ["ArtifactIOManager", "JsonIOManager", "ModelIOManager", "ParquetIOManager"]
