"""dagster-pandas types of the clean tables: Dagster validates each output against them.

The types hold structure (columns, dtypes, keys present); value sanity belongs to the
asset checks, so a table with bad values is still persisted for inspection while its
blocking check stops everything downstream.
"""

from __future__ import annotations

import warnings

import dagster as dg
from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type
from dagster_pandas.constraints import ColumnDTypeInSetConstraint

from optvol.core.options.ingest.clean import FLAG_COLUMNS
from optvol.core.volatility.features import PRICE_FEATURES, TARGET_COLUMNS, VIX_FEATURES
from optvol.core.volatility.market import PRICE_COLUMNS

# dagster-pandas marks its column API beta; it is the documented way to type DataFrames.
warnings.filterwarnings("ignore", category=dg.BetaWarning, module="dagster_pandas")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=__name__)


def _numeric(name: str) -> PandasColumn:
    """A float column that may hold NaN (dagster-pandas' float_column rejects NaN)."""
    return PandasColumn(name, constraints=[ColumnDTypeInSetConstraint({"float64", "float32"})])


OptionQuotesDataFrame = create_dagster_pandas_dataframe_type(
    name="OptionQuotesDataFrame",
    description="Clean option quotes: one row per (quote_date, expiration, strike, option_type).",
    columns=[
        PandasColumn.datetime_column("quote_date", non_nullable=True),
        PandasColumn.datetime_column("expiration", non_nullable=True),
        PandasColumn.categorical_column("option_type", categories={"C", "P"}, non_nullable=True),
        PandasColumn.float_column("strike", non_nullable=True),
        *(_numeric(c) for c in ("underlying_last", "bid", "ask", "mid", "spread")),
        PandasColumn.integer_column("dte_days", non_nullable=True),
        *(PandasColumn.boolean_column(c, non_nullable=True) for c in (*FLAG_COLUMNS, "usable")),
    ],
)

MarketFeaturesDataFrame = create_dagster_pandas_dataframe_type(
    name="MarketFeaturesDataFrame",
    description="Daily S&P 500 rows with VIX, macro as of each day, the volatility "
    "features (RV, range vol, VRP, ...) and the 21-day targets.",
    columns=[
        PandasColumn.datetime_column("date", non_nullable=True, unique=True),
        PandasColumn.float_column("spx_close", non_nullable=True),
        *(_numeric(c) for c in (*PRICE_COLUMNS[:3], *PRICE_FEATURES, *VIX_FEATURES)),
        *(_numeric(c) for c in TARGET_COLUMNS),
    ],
)
