"""The dagster-pandas type of the clean option quotes: Dagster validates each month
against it (see :mod:`optvol.defs.shared.types`)."""

from dagster_pandas import PandasColumn, create_dagster_pandas_dataframe_type
from dagster_pandas.constraints import ConstraintViolationException
from dagster_pandas.validation import validate_constraints

from optvol.core.options.ingest.clean import FLAG_COLUMNS
from optvol.defs.shared.types import numeric_column

OPTION_QUOTES_COLUMNS = [
    PandasColumn.datetime_column("quote_date", non_nullable=True),
    PandasColumn.datetime_column("expiration", non_nullable=True),
    PandasColumn.categorical_column("option_type", categories={"C", "P"}, non_nullable=True),
    PandasColumn.float_column("strike", non_nullable=True),
    *(numeric_column(c) for c in ("underlying_last", "bid", "ask", "mid", "spread")),
    PandasColumn.integer_column("dte_days", non_nullable=True),
    *(PandasColumn.boolean_column(c, non_nullable=True) for c in (*FLAG_COLUMNS, "usable")),
]

OptionQuotesDataFrame = create_dagster_pandas_dataframe_type(
    name="OptionQuotesDataFrame",
    description="Clean option quotes: one row per (quote_date, expiration, strike, "
    "option_type, root).",
    columns=OPTION_QUOTES_COLUMNS,
)


def option_quotes_violation(frame) -> str | None:
    """What in ``frame`` breaks the :data:`OptionQuotesDataFrame` column constraints, or
    None. The constraints of the type, checked without ``dagster.check_dagster_type``,
    which builds a throwaway Dagster instance (SQLite storage) on every call: on a worker
    thread, its connections were closed on another and each logged a traceback."""
    try:
        validate_constraints(frame, pandas_columns=OPTION_QUOTES_COLUMNS)
    except ConstraintViolationException as violation:
        return str(violation)
    return None
