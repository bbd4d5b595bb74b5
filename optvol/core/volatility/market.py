"""Market history: read ``raw_market.csv`` and build the cleaned daily table.

The file (docs/architecture.md §3) is daily with ``date, spx_open, spx_high, spx_low, spx_close,
vix_close`` and any further numeric columns, which are macro series. Gaps are allowed.
A low-frequency macro value is dated by the start of the period it describes (January's
CPI on January 1st) and is published some time after that period ends. So a value
dated ``d`` describing ``p`` months is used from ``d + p + lag`` months on (January's CPI
from March 1st with the default one-month lag) and forward-filled from there: never
back into the period it describes, nor before it could have been read. Daily series
(rates, spreads) are used as of their own date.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from optvol.core.common.cleaning import CleaningReport
from optvol.core.common.csv_stream import iter_batches, split_header
from optvol.core.common.data_summary import missing_counts
from optvol.core.common.errors import OptvolInputError, excerpts
from optvol.core.common.input_files import read_header, sources_of
from optvol.core.common.parquet import notes_of, with_notes
from optvol.core.common.provenance import origin_of
from optvol.core.volatility.features import (
    TARGET_COLUMNS,
    TRADING_DAYS_PER_YEAR,
    add_features,
    add_targets,
    feature_columns,
    macro_change_column,
)

log = logging.getLogger(__name__)

PRICE_COLUMNS = ("spx_open", "spx_high", "spx_low", "spx_close", "vix_close")
REQUIRED_COLUMNS = ("date", *PRICE_COLUMNS)
__all__ = ["TRADING_DAYS_PER_YEAR", "clean_market", "macro_columns", "read_market_file"]
DEFAULT_RELEASE_LAG_MONTHS = 1
# A series whose observations are further apart than this (median) is treated as
# low-frequency (monthly, quarterly) and gets the release lag; daily series do not.
LOW_FREQUENCY_DAYS = 20


def read_market_file(path: Path) -> pd.DataFrame:
    """``raw_market``: the market file typed, values as they came, with their source.

    Raises :class:`~optvol.core.common.errors.OptvolInputError` naming the file and the line or
    column when the file is missing, empty, lacks a required column, has a row with the
    wrong number of fields or a value that is not a number or ISO date.
    """
    sources = sources_of(path)
    if len(sources) != 1:
        labels = [s.label for s in sources]
        raise OptvolInputError(f"{path}: expected one market file, the archive holds {labels}")
    (source,) = sources
    header = read_header(source)
    names = split_header(header, ",")
    missing = missing_required_columns(header)
    if missing:
        raise OptvolInputError(
            f"{source.label}: line 1: missing required columns {missing}; expected a "
            f"comma-separated header with {list(REQUIRED_COLUMNS)} (found {excerpts(names[:10])})"
        )
    duplicated = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicated:
        raise OptvolInputError(
            f"{source.label}: line 1: duplicate column names {excerpts(duplicated[:10])}"
        )
    types = {name: pa.float64() for name in names}
    types["date"] = pa.date32()
    batches = list(iter_batches(source, names, types, names, ","))
    table = pa.Table.from_batches(batches) if batches else None
    if table is None or table.num_rows == 0:
        raise OptvolInputError(f"{source.label}: the file has a header but no data rows")
    frame = table.to_pandas(date_as_object=False)
    frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
    frame["source_file"] = pd.Categorical([source.label] * len(frame))
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    source_note = {"label": source.label, "format": "market", "input_rows": len(frame),
                   "compressed_bytes": source.compressed_bytes, **origin_of(path)}  # fmt: skip
    with_notes(frame, {"sources": [source_note]})
    log.info("Read %s: %d rows, %d columns, %d bytes", source.label, len(frame),
             len(names), source.compressed_bytes)  # fmt: skip
    return frame


def missing_required_columns(header: str) -> list[str]:
    """Required market columns that a comma-separated ``header`` lacks."""
    names = split_header(header, ",")
    return [c for c in REQUIRED_COLUMNS if c not in names]


def macro_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns beyond the required and the derived ones: the macro series."""
    skip = {*REQUIRED_COLUMNS, "source_file", "source_row", *feature_columns([]),
            *TARGET_COLUMNS}  # fmt: skip
    candidates = [c for c in frame.columns if c not in skip]
    derived = {macro_change_column(c) for c in candidates}
    return [c for c in candidates if c not in derived]


@dataclass
class MarketCleaningReport(CleaningReport):
    """The counts of :class:`~optvol.core.common.cleaning.CleaningReport` and of this
    table's own steps."""

    rows_missing_date: int = 0
    rows_without_close: int = 0
    gaps_over_5_days: int = 0
    largest_gap_days: int = 0
    missing_values: dict[str, int] = field(default_factory=dict)
    rows_with_vix: int = 0
    rows_with_targets: int = 0
    macro_available_after_months: dict[str, int] = field(default_factory=dict)


def align_macro(
    frame: pd.DataFrame, dates: pd.Series, column: str, available_after_months: int
) -> pd.Series:
    """The value of macro series ``column`` known on each of ``dates``.

    An observation dated ``d`` becomes available ``available_after_months`` months later;
    each date takes the latest available value (0 months: known on its own date).
    """
    observed = frame.loc[frame[column].notna(), ["date", column]]
    offset = pd.DateOffset(months=available_after_months)
    observed = observed.assign(available=observed["date"] + offset)
    observed = observed.sort_values("available", kind="stable")
    left = pd.DataFrame({"date": dates.to_numpy()})
    merged = pd.merge_asof(
        left, observed[["available", column]], left_on="date", right_on="available",
        direction="backward",
    )  # fmt: skip
    return pd.Series(merged[column].to_numpy(), index=dates.index, name=column)


def observation_period_months(frame: pd.DataFrame, column: str) -> int:
    """Months one observation of ``column`` describes: 0 for a daily series, else the
    median spacing of its observations in months (1 monthly, 3 quarterly)."""
    dates = frame.loc[frame[column].notna(), "date"].sort_values()
    if len(dates) < 2:
        return 1
    spacing = dates.diff().dt.days.median()
    return 0 if spacing <= LOW_FREQUENCY_DAYS else max(1, round(spacing / 30.44))


def clean_market(
    raw: pd.DataFrame,
    release_lag_months: int = DEFAULT_RELEASE_LAG_MONTHS,
    release_lag_overrides: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, MarketCleaningReport]:
    """``market_features``: daily rows with an S&P 500 close, macro as of each day, and
    the features and targets of :mod:`optvol.core.volatility.features`."""
    report = MarketCleaningReport(rows_in=len(raw))
    notes = notes_of(raw)
    frame = raw.drop(columns=["source_file", "source_row"], errors="ignore")
    missing_date = frame["date"].isna()
    report.rows_missing_date = int(missing_date.sum())
    frame = frame.loc[~missing_date]
    frame = frame.sort_values("date", kind="stable")
    exact = frame.duplicated(keep="last")
    report.duplicate_rows = int(exact.sum())
    frame = frame.loc[~exact]
    conflicting = frame.duplicated("date", keep="last")
    report.conflicting_duplicates = int(conflicting.sum())
    frame = frame.loc[~conflicting]
    log.info("Sorted by date; dropped %d rows without a date, %d duplicate rows and %d "
             "conflicting rows for a repeated date (the last kept)", report.rows_missing_date,
             report.duplicate_rows, report.conflicting_duplicates)  # fmt: skip

    trading = frame.loc[frame["spx_close"].notna()].copy()
    report.rows_without_close = len(frame) - len(trading)
    log.info("Dropped %d rows without an S&P 500 close (macro-only dates or gaps)",
             report.rows_without_close)  # fmt: skip

    overrides = release_lag_overrides or {}
    for column in macro_columns(frame):
        period = observation_period_months(frame, column)
        lag = overrides.get(column, release_lag_months if period else 0)
        report.macro_available_after_months[column] = period + lag
        trading[column] = align_macro(frame, trading["date"], column, period + lag)
    log.info("Aligned macro series: months from the dated period start to use: %s",
             report.macro_available_after_months)  # fmt: skip

    gaps = trading["date"].diff().dt.days
    report.gaps_over_5_days = int((gaps > 5).sum())
    report.largest_gap_days = int(gaps.max()) if len(trading) > 1 else 0
    report.missing_values = missing_counts(trading)
    log.info("Calendar gaps over 5 days: %d (largest %d days); missing values: %s",
             report.gaps_over_5_days, report.largest_gap_days,
             {k: v for k, v in report.missing_values.items() if v})  # fmt: skip

    macro = macro_columns(trading)
    trading = add_targets(add_features(trading.reset_index(drop=True), macro))
    log.info("Computed log returns, RV over %s days, range vols, VRP, VIX/RV21, yearly "
             "changes of %s, and the 21-day targets", "1/5/21/22/63", macro)  # fmt: skip
    report.rows_with_vix = int(trading["vrp"].notna().sum())
    report.rows_with_targets = int(trading[list(TARGET_COLUMNS)].notna().all(axis=1).sum())
    log.info("%d of %d rows have VIX (and so VRP and VIX/RV21); %d have both targets",
             report.rows_with_vix, len(trading), report.rows_with_targets)  # fmt: skip

    trading = trading.reset_index(drop=True)
    report.rows_out = len(trading)
    log.info("market_features: %d rows out of %d in", report.rows_out, report.rows_in)
    return with_notes(trading, {**notes, "cleaning": report.as_dict()}), report
