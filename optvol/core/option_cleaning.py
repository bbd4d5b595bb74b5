"""Cleaning: raw option quotes -> ``option_quotes``, one row per option side and day.

The steps, each logged at INFO with its counts:

1. canonical dtypes (dates as dates, categoricals, float32 where it loses nothing) —
   "Memory optimization complete" with the size before and after;
2. rows without a full key (quote date, expiration, strike, call/put) are dropped;
3. duplicate keys are removed, keeping the quote read last (later file, later row);
4. derived columns: ``mid``, ``spread``, ``dte_days``, ``tau``, ``moneyness``;
5. flags for unusable quotes: missing bid/ask, ``bid <= 0``, crossed (``ask < bid``),
   zero width (``ask == bid``), expired, bad underlying; ``usable`` is none of them.

Rows are flagged, not deleted, so a user can see what was wrong with a quote; models
select ``usable`` rows.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from optvol.core.memory import frame_megabytes
from optvol.core.raw_options import KEY_COLUMNS

log = logging.getLogger(__name__)

DAYS_PER_YEAR = 365.0
FLAG_COLUMNS = (
    "flag_missing_quote",
    "flag_nonpositive_bid",
    "flag_crossed",
    "flag_zero_width",
    "flag_expired",
    "flag_bad_underlying",
)
# Column -> dtype of the clean table, in order.
OPTION_QUOTES_DTYPES: dict[str, str] = {
    "quote_date": "datetime64[ns]",
    "expiration": "datetime64[ns]",
    "option_type": "category",
    "strike": "float64",
    "underlying_last": "float64",
    "bid": "float64",
    "ask": "float64",
    "mid": "float64",
    "spread": "float64",
    "last": "float64",
    "bid_size": "Int32",
    "ask_size": "Int32",
    "volume": "float32",
    "open_interest": "float32",
    "iv": "float32",
    "delta": "float32",
    "gamma": "float32",
    "vega": "float32",
    "theta": "float32",
    "rho": "float32",
    "dte_days": "int16",
    "tau": "float32",
    "moneyness": "float32",
    **{flag: "bool" for flag in FLAG_COLUMNS},
    "usable": "bool",
    "source_file": "category",
    "source_row": "int64",
}
# Prices stay float64: float32 keeps only ~7 significant digits. Greeks, IVs, volumes and
# open interest are vendor-rounded values that float32 holds to their printed precision.
_FLOAT32 = ("volume", "open_interest", "iv", "delta", "gamma", "vega", "theta", "rho")


@dataclass
class OptionCleaningReport:
    """Counts of each cleaning step, for logs and asset metadata."""

    rows_in: int = 0
    rows_missing_key: int = 0
    duplicate_rows: int = 0
    conflicting_duplicates: int = 0
    rows_out: int = 0
    usable_rows: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    memory_mb_before: float = 0.0
    memory_mb_after: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def raw_to_frame(raw: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """A pandas view of the raw table with dates as ``datetime64[ns]``."""
    if isinstance(raw, pa.Table):
        frame = raw.to_pandas(date_as_object=False, self_destruct=False)
    else:
        frame = raw.copy()
    for column in ("quote_date", "expiration"):
        frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def _optimize_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    frame["option_type"] = frame["option_type"].astype("category")
    frame["source_file"] = frame["source_file"].astype("category")
    for column in _FLOAT32:
        frame[column] = frame[column].astype("float32")
    for column in ("bid_size", "ask_size"):
        frame[column] = frame[column].astype("Int32")
    return frame


def _drop_duplicates(frame: pd.DataFrame, report: OptionCleaningReport) -> pd.DataFrame:
    # A stable sort keeps read order within a key, so "last" is the quote read last.
    frame = frame.sort_values(list(KEY_COLUMNS), kind="stable")
    duplicated = frame.duplicated(list(KEY_COLUMNS), keep="last")
    report.duplicate_rows = int(duplicated.sum())
    if report.duplicate_rows:
        value_columns = [c for c in frame.columns if c not in ("source_file", "source_row")]
        repeated = frame.loc[frame.duplicated(list(KEY_COLUMNS), keep=False), value_columns]
        distinct = repeated.drop_duplicates()
        report.conflicting_duplicates = int(
            distinct.duplicated(list(KEY_COLUMNS), keep="last").sum()
        )
    return frame.loc[~duplicated]


def _derive(frame: pd.DataFrame) -> pd.DataFrame:
    frame["mid"] = (frame["bid"] + frame["ask"]) / 2.0
    frame["spread"] = frame["ask"] - frame["bid"]
    days = (frame["expiration"] - frame["quote_date"]).dt.days
    frame["dte_days"] = days.astype("int16")
    frame["tau"] = (days / DAYS_PER_YEAR).astype("float32")
    frame["moneyness"] = (frame["strike"] / frame["underlying_last"]).astype("float32")
    return frame


def _flag(frame: pd.DataFrame) -> pd.DataFrame:
    bid, ask = frame["bid"], frame["ask"]
    underlying = frame["underlying_last"]
    frame["flag_missing_quote"] = bid.isna() | ask.isna()
    frame["flag_nonpositive_bid"] = bid <= 0
    frame["flag_crossed"] = ask < bid
    frame["flag_zero_width"] = ask == bid
    frame["flag_expired"] = frame["dte_days"] < 0
    frame["flag_bad_underlying"] = ~(underlying > 0) | ~np.isfinite(underlying)
    frame["usable"] = ~frame[list(FLAG_COLUMNS)].any(axis=1)
    return frame


def clean_option_quotes(raw: pa.Table | pd.DataFrame) -> tuple[pd.DataFrame, OptionCleaningReport]:
    """Clean raw option quotes; return the ``option_quotes`` table and the step counts."""
    report = OptionCleaningReport(rows_in=raw.num_rows if isinstance(raw, pa.Table) else len(raw))
    log.info("Cleaning %d raw option quotes", report.rows_in)
    frame = raw_to_frame(raw)
    report.memory_mb_before = frame_megabytes(frame)
    frame = _optimize_dtypes(frame)
    report.memory_mb_after = frame_megabytes(frame)
    log.info(
        "Memory optimization complete: %.1f MB -> %.1f MB",
        report.memory_mb_before,
        report.memory_mb_after,
    )

    missing_key = frame[list(KEY_COLUMNS)].isna().any(axis=1)
    report.rows_missing_key = int(missing_key.sum())
    frame = frame.loc[~missing_key]
    log.info("Dropped %d rows without a full key %s", report.rows_missing_key, KEY_COLUMNS)

    frame = _drop_duplicates(frame, report)
    log.info(
        "Removed %d duplicate quotes (%d with differing values; the one read last kept)",
        report.duplicate_rows,
        report.conflicting_duplicates,
    )

    frame = _flag(_derive(frame))
    report.flags = {flag: int(frame[flag].sum()) for flag in FLAG_COLUMNS}
    report.usable_rows = int(frame["usable"].sum())
    log.info("Derived mid, spread, dte_days, tau and moneyness")
    log.info("Flagged unusable quotes: %s; usable %d", report.flags, report.usable_rows)

    frame = frame[list(OPTION_QUOTES_DTYPES)].reset_index(drop=True)
    frame["option_type"] = frame["option_type"].cat.set_categories(["C", "P"])
    frame["source_file"] = frame["source_file"].cat.remove_unused_categories()
    report.rows_out = len(frame)
    log.info("option_quotes: %d rows out of %d in", report.rows_out, report.rows_in)
    return frame, report
