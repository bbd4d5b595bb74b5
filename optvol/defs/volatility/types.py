"""The dagster-pandas type of the market features: Dagster validates the table against
it (see :mod:`optvol.defs.shared.types`)."""

from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type

from optvol.core.volatility.features import PRICE_FEATURES, TARGET_COLUMNS, VIX_FEATURES
from optvol.core.volatility.market import PRICE_COLUMNS
from optvol.defs.shared.types import numeric_column

MarketFeaturesDataFrame = create_dagster_pandas_dataframe_type(
    name="MarketFeaturesDataFrame",
    description="Daily S&P 500 rows with VIX, macro as of each day, the volatility "
    "features (RV, range vol, VRP, ...) and the 21-day targets.",
    columns=[
        PandasColumn.datetime_column("date", non_nullable=True, unique=True),
        PandasColumn.float_column("spx_close", non_nullable=True),
        *(numeric_column(c) for c in (*PRICE_COLUMNS[:3], *PRICE_FEATURES, *VIX_FEATURES)),
        *(numeric_column(c) for c in TARGET_COLUMNS),
    ],
)
