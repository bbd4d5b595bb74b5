"""Volatility pipeline assets: ingest and clean the S&P 500 / VIX / macro history."""

from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from optvol.assets.ingest import INGEST_RETRY_POLICY, retry_or_fail
from optvol.core.errors import OptvolInputError
from optvol.core.market import DEFAULT_RELEASE_LAG_MONTHS, clean_market, read_market_file
from optvol.core.paths import MARKET_INPUT_FILE
from optvol.dagster_types import MarketFeaturesDataFrame
from optvol.resources import DataRoot

GROUP = "volatility"
OWNERS = ["team:quant-research"]


class MarketIngestConfig(dg.Config):
    """Where the market history file is read from."""

    input_file: str | None = Field(
        default=None, description=f"Market CSV; <data root>/{MARKET_INPUT_FILE} if unset."
    )


class MarketCleaningConfig(dg.Config):
    """Release lags of the macro series (DESIGN §3)."""

    release_lag_months: int = Field(
        default=DEFAULT_RELEASE_LAG_MONTHS,
        ge=0,
        description="Months from the end of the period a low-frequency macro value "
        "describes to its first use (its publication lag).",
    )
    release_lag_overrides: dict[str, int] = Field(
        default_factory=dict,
        description="Per-series publication lag in months, e.g. {'core_cpi': 1}.",
    )


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    owners=OWNERS,
    retry_policy=INGEST_RETRY_POLICY,
)
def raw_market(
    context: dg.AssetExecutionContext, config: MarketIngestConfig, data_root: DataRoot
) -> pd.DataFrame:
    """The daily market file (S&P 500 OHLC, VIX, macro series), typed, values as they came,
    with the source file and row."""
    path = Path(config.input_file) if config.input_file else data_root.path / MARKET_INPUT_FILE
    try:
        if path.exists():
            context.log.info("Found input %s (%d bytes)", path, path.stat().st_size)
        frame = read_market_file(path)
    except OptvolInputError as err:
        raise retry_or_fail(context, err) from err
    context.add_output_metadata({"input_file": dg.MetadataValue.path(str(path))})
    return frame


@dg.asset(
    group_name=GROUP,
    kinds={"pandas", "parquet"},
    owners=OWNERS,
    dagster_type=MarketFeaturesDataFrame,
)
def market_features(
    context: dg.AssetExecutionContext, config: MarketCleaningConfig, raw_market: pd.DataFrame
) -> pd.DataFrame:
    """Trading days with an S&P 500 close, sorted and unique; macro series as of each day
    after their release lag; log returns, RV21 and the variance risk premium."""
    frame, report = clean_market(
        raw_market, config.release_lag_months, dict(config.release_lag_overrides)
    )
    context.add_output_metadata(
        {
            "date_range": f"{frame['date'].min():%Y-%m-%d} .. {frame['date'].max():%Y-%m-%d}",
            "cleaning": dg.MetadataValue.json(report.as_dict()),
        }
    )
    return frame
