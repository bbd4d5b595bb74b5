"""What the dagster-pandas types of the clean tables share.

The types hold structure (columns, dtypes, keys present); value sanity belongs to the
asset checks, so a table with bad values is still persisted for inspection while its
blocking check stops everything downstream.
"""

import warnings

import dagster as dg
from dagster_pandas import PandasColumn
from dagster_pandas.constraints import ColumnDTypeInSetConstraint

# dagster-pandas marks its column API beta; it is the documented way to type DataFrames.
warnings.filterwarnings("ignore", category=dg.BetaWarning, module="dagster_pandas")
warnings.filterwarnings("ignore", category=dg.BetaWarning, module=r"optvol\.defs\.\w+\.types")


def numeric_column(name: str) -> PandasColumn:
    """A float column that may hold NaN (dagster-pandas' float_column rejects NaN)."""
    return PandasColumn(name, constraints=[ColumnDTypeInSetConstraint({"float64", "float32"})])
