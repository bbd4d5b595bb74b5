"""Where optvol reads its inputs and writes its artifacts (DESIGN §2)."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "OPTVOL_DATA_DIR"
DEFAULT_DATA_DIR = "data"

# Artifact of each asset, relative to the data root.
ARTIFACT_PATHS: dict[str, str] = {
    "raw_option_quotes": "staging/raw_option_quotes.parquet",
    "option_quotes": "processed/option_quotes.parquet",
    "raw_market": "staging/raw_market.parquet",
    "market_features": "processed/market_features.parquet",
}

OPTIONS_INPUT_DIR = "raw/options"
MARKET_INPUT_FILE = "raw/raw_market.csv"


def data_root(override: str | os.PathLike | None = None) -> Path:
    """The data root: ``override``, else ``$OPTVOL_DATA_DIR``, else ``./data``."""
    if override:
        return Path(override)
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def artifact_path(asset_name: str, root: str | os.PathLike | None = None) -> Path:
    """The file an asset is persisted to under the data root."""
    try:
        relative = ARTIFACT_PATHS[asset_name]
    except KeyError:
        raise KeyError(f"no artifact path is defined for asset {asset_name!r}") from None
    return data_root(root) / relative
