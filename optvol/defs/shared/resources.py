"""Resources shared by the assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from optvol.core.common.paths import data_root


class DataRoot(dg.ConfigurableResource):
    """The data root holding ``raw/`` inputs and every artifact.

    ``root`` defaults to ``$OPTVOL_DATA_DIR``, else ``./data`` (resolved at run time, so
    the same definitions serve any checkout).
    """

    root: str | None = None

    @property
    def path(self) -> Path:
        return data_root(self.root)
