"""Cleaning: raw option quotes -> ``option_quotes``, one row per option side and day.

The steps, each logged at INFO with its counts:

1. canonical types (dates as dates, categoricals, float32 where it loses nothing) —
   "Memory optimization complete" with the size before and after;
2. rows without a valid key are dropped: a missing quote date, expiration or call/put,
   or a strike that is missing, not finite or not positive;
3. duplicate keys (quote date, expiration, strike, call/put and option class ``root``,
   "" where the file names none) are removed, keeping the quote read last (later file,
   later row);
4. derived columns: ``mid``, ``spread``, ``dte_days``, ``tau`` (calendar days over 365,
   less 6.5 hours for the AM-settled classes of ``AM_SETTLED_ROOTS``), ``moneyness``;
5. flags for unusable quotes: missing bid/ask (empty or NaN), a non-finite or negative
   price, ``bid <= 0``, crossed (``ask < bid``), zero width (``ask == bid``), expired,
   bad underlying (missing, not finite or not positive); ``usable`` is none of them;
6. each expiry's forward from put-call parity on its usable quotes, the carry
   ``ln(F/S)/T`` it implies and the number of strikes it stands on
   (:mod:`optvol.core.options.pricing.forward`): missing (0 strikes) where an expiry has
   no strike quoted usably on both sides.

Rows are flagged, not deleted, so a user can see what was wrong with a quote; models
select ``usable`` rows. The work is done in Arrow, column by column, and converted to
pandas once at the end, so the peak memory stays near two copies of the table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from optvol.core.common.cleaning import CleaningReport
from optvol.core.common.parquet import notes_of, with_notes
from optvol.core.options.ingest.schema import KEY_COLUMNS, RAW_OPTION_SCHEMA
from optvol.core.options.pricing.black_scholes import DAYS_PER_YEAR
from optvol.core.options.pricing.forward import parity_forwards

log = logging.getLogger(__name__)

FLAG_COLUMNS = (
    "flag_missing_quote",
    "flag_bad_price",
    "flag_nonpositive_bid",
    "flag_crossed",
    "flag_zero_width",
    "flag_expired",
    "flag_bad_underlying",
)
# Column -> pandas dtype of the clean table, in order.
OPTION_QUOTES_DTYPES: dict[str, str] = {
    "quote_date": "datetime64[ns]",
    "expiration": "datetime64[ns]",
    "option_type": "category",
    "root": "category",
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
    "forward": "float64",
    "carry": "float64",
    "forward_pairs": "int16",
    **{flag: "bool" for flag in FLAG_COLUMNS},
    "usable": "bool",
    "source_file": "category",
    "source_row": "int64",
}
# Prices stay float64: float32 keeps only ~7 significant digits. Greeks, IVs, volumes and
# open interest are vendor-rounded values that float32 holds to their printed precision, or
# to 7 significant digits beyond it (a six-decimal theta of -18.158376 reads -18.15838).
_NARROW_TYPES = {
    **dict.fromkeys(("volume", "open_interest", "iv", "delta", "gamma", "vega", "theta", "rho"),
                    pa.float32()),
    "bid_size": pa.int32(),
    "ask_size": pa.int32(),
}  # fmt: skip
_KEPT_RAW = [c for c in OPTION_QUOTES_DTYPES if c in RAW_OPTION_SCHEMA.names]
_FORWARD_COLUMNS = ("forward", "carry", "forward_pairs")
# Option classes settled at the open of the expiration day (the Special Opening Quotation):
# Cboe's monthly index options. Their weekly siblings (SPXW, NDXP, RUTW) settle at the close.
AM_SETTLED_ROOTS = ("SPX", "NDX", "RUT", "DJX", "VIX")
AM_SETTLEMENT_DAYS = 6.5 / 24.0


def is_am_settled(roots: np.ndarray) -> np.ndarray:
    """Whether each option class (``root``) settles at the open of its expiration day."""
    return np.isin(np.asarray(roots).astype(str), AM_SETTLED_ROOTS)


def time_to_expiry(days_to_expiry: np.ndarray, am_settled: np.ndarray) -> np.ndarray:
    """``tau`` in years as cleaning stores it (float32, read as float64): the calendar days
    to expiry over 365, less 6.5 hours for an AM-settled class. The API prices a request
    with this, so that its ``tau`` is the samples' to the bit."""
    days = np.asarray(days_to_expiry, np.float64)
    left = days - np.where(am_settled, AM_SETTLEMENT_DAYS, 0.0)
    return (left / DAYS_PER_YEAR).astype(np.float32).astype(np.float64)


@dataclass
class OptionCleaningReport(CleaningReport):
    """The counts of :class:`~optvol.core.common.cleaning.CleaningReport` and of this
    table's own steps."""

    rows_invalid_key: int = 0
    usable_rows: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    memory_mb_before: float = 0.0
    memory_mb_after: float = 0.0


def _as_arrow(raw: pa.Table | pd.DataFrame) -> pa.Table:
    """The raw columns the clean table keeps, a missing root as "" (no class given)."""
    if isinstance(raw, pa.Table):
        table = raw.select([c for c in _KEPT_RAW if c in raw.column_names])
    else:
        present = [c for c in _KEPT_RAW if c in raw.columns]
        schema = pa.schema([RAW_OPTION_SCHEMA.field(c) for c in present])
        table = pa.Table.from_pandas(raw[present], schema=schema, preserve_index=False)
    if "root" not in table.column_names:  # a table read before roots were kept
        table = table.add_column(
            _KEPT_RAW.index("root"), "root", pa.nulls(table.num_rows, pa.string())
        )
    root = pc.fill_null(table["root"], "")
    return table.set_column(table.schema.get_field_index("root"), "root", root)


def _narrow(table: pa.Table) -> pa.Table:
    for name, type_ in _NARROW_TYPES.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table.column(name).cast(type_))
    return table


def _count(mask: pa.Array | pa.ChunkedArray) -> int:
    """Number of True values of a boolean array."""
    return int(pc.sum(mask.cast(pa.int64())).as_py() or 0)


def _is_positive_finite(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """True where a value is present, finite and > 0 (False for null and NaN)."""
    return pc.fill_null(pc.and_(pc.is_finite(values), pc.greater(values, 0.0)), False)


def _drop_invalid_keys(table: pa.Table, report: OptionCleaningReport) -> pa.Table:
    valid = pc.and_(
        pc.and_(pc.is_valid(table["quote_date"]), pc.is_valid(table["expiration"])),
        pc.and_(_is_positive_finite(table["strike"]), pc.is_valid(table["option_type"])),
    )
    report.rows_invalid_key = table.num_rows - _count(valid)
    return table.filter(valid) if report.rows_invalid_key else table


def _same_key_as_next(table: pa.Table) -> np.ndarray:
    """For a table sorted by key: True where row i has the key of row i + 1."""
    n = table.num_rows
    if n == 0:
        return np.zeros(0, dtype=bool)
    same = np.ones(n - 1, dtype=bool)
    for key in KEY_COLUMNS:
        column = table[key].combine_chunks()
        same &= pc.equal(column.slice(0, n - 1), column.slice(1)).to_numpy(zero_copy_only=False)
    return np.append(same, False)


def _drop_duplicates(table: pa.Table, report: OptionCleaningReport) -> pa.Table:
    # Arrow's sort is stable, so within a key the rows keep their read order and the
    # last one is the quote read last.
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in KEY_COLUMNS])
    table = table.take(order)
    duplicate = _same_key_as_next(table)
    report.duplicate_rows = int(duplicate.sum())
    if report.duplicate_rows:
        in_group = duplicate | np.concatenate([[False], duplicate[:-1]])
        values = [c for c in table.column_names if c not in ("source_file", "source_row")]
        repeated = table.filter(pa.array(in_group)).select(values).to_pandas()
        distinct = repeated.drop_duplicates()
        report.conflicting_duplicates = int(distinct.duplicated(list(KEY_COLUMNS)).sum())
        table = table.filter(pa.array(~duplicate))
    return table


def _derived_columns(table: pa.Table) -> dict[str, pa.Array]:
    bid, ask, underlying = table["bid"], table["ask"], table["underlying_last"]
    days = pc.subtract(table["expiration"].cast(pa.int32()), table["quote_date"].cast(pa.int32()))
    am_settled = pc.is_in(table["root"], pa.array(AM_SETTLED_ROOTS))
    # An AM-settled option stops at the open of its expiration day, 6.5 hours before a
    # PM-settled one: on its last day it has already settled by the close.
    settlement = pc.if_else(am_settled, AM_SETTLEMENT_DAYS, 0.0)
    time_left = pc.subtract(days.cast(pa.float64()), settlement)
    columns = {
        "mid": pc.divide(pc.add(bid, ask), 2.0),
        "spread": pc.subtract(ask, bid),
        "dte_days": days.cast(pa.int16()),
        "tau": pc.divide(time_left, DAYS_PER_YEAR).cast(pa.float32()),
        "moneyness": pc.divide(table["strike"], underlying).cast(pa.float32()),
    }
    flags = {
        "flag_missing_quote": pc.or_(pc.is_null(bid, nan_is_null=True),
                                     pc.is_null(ask, nan_is_null=True)),
        "flag_bad_price": pc.or_(pc.is_inf(bid), pc.is_inf(ask)),
        "flag_nonpositive_bid": pc.less_equal(bid, 0.0),
        "flag_crossed": pc.less(ask, bid),
        "flag_zero_width": pc.equal(ask, bid),
        "flag_expired": pc.less(time_left, 0.0),
    }  # fmt: skip
    # A comparison with a missing price is missing; as a flag it is "not raised".
    flags = {name: pc.fill_null(flag, False) for name, flag in flags.items()}
    # A negative price is no price, bid or ask (the bid is also flagged non-positive).
    negative = pc.or_(
        pc.fill_null(pc.less(ask, 0.0), False), pc.fill_null(pc.less(bid, 0.0), False)
    )
    flags["flag_bad_price"] = pc.or_(flags["flag_bad_price"], negative)
    flags["flag_bad_underlying"] = pc.invert(_is_positive_finite(underlying))
    unusable = flags["flag_missing_quote"]
    for flag in FLAG_COLUMNS[1:]:
        unusable = pc.or_(unusable, flags[flag])
    return {**columns, **flags, "usable": pc.invert(unusable)}


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    for name in ("quote_date", "expiration"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].cast(pa.timestamp("ns")))
    for name in ("option_type", "root"):
        index = table.schema.get_field_index(name)
        table = table.set_column(index, name, table[name].dictionary_encode())
    frame = table.to_pandas(
        self_destruct=True, split_blocks=True, types_mapper={pa.int32(): pd.Int32Dtype()}.get
    )
    frame["option_type"] = frame["option_type"].cat.set_categories(["C", "P"])
    # Lexical order, as the rows are sorted (Arrow sorts the strings).
    frame["root"] = frame["root"].cat.reorder_categories(sorted(frame["root"].cat.categories))
    frame["source_file"] = frame["source_file"].cat.remove_unused_categories()
    for name in ("root", "source_file"):
        if not len(frame[name].cat.categories):
            # No category to infer a type from: Arrow would write a dictionary of nulls, and
            # an empty month's table would not have the columns of the others.
            frame[name] = frame[name].cat.set_categories(pd.Index([], dtype="string"))
    return frame


def add_parity_forwards(frame: pd.DataFrame) -> pd.DataFrame:
    """Set the columns ``forward``, ``carry`` (float64) and ``forward_pairs`` (int16) of a
    clean table, in place, where :data:`OPTION_QUOTES_DTYPES` puts them; return it."""
    expiry = pd.factorize(frame["expiration"])[0].astype(np.int64)
    root = pd.factorize(frame["root"].astype(str))[0].astype(np.int64)
    expiry_class = expiry * (int(root.max(initial=0)) + 1) + root
    forwards = parity_forwards(
        frame["quote_date"].to_numpy(),
        expiry_class,
        frame["strike"].to_numpy(),
        (frame["option_type"] == "C").to_numpy(),
        frame["mid"].to_numpy(),
        frame["tau"].to_numpy(),
        frame["underlying_last"].to_numpy(),
        frame["usable"].to_numpy(bool),
    )
    at = frame.columns.get_loc("moneyness") + 1
    for offset, name in enumerate(_FORWARD_COLUMNS):
        values = getattr(forwards, "pairs" if name == "forward_pairs" else name)
        if name in frame.columns:
            frame[name] = values
        else:
            frame.insert(at + offset, name, values)
    return frame


def clean_option_quotes(raw: pa.Table | pd.DataFrame) -> tuple[pd.DataFrame, OptionCleaningReport]:
    """Clean raw option quotes; return the ``option_quotes`` table and the step counts."""
    notes = notes_of(raw)
    table = _as_arrow(raw)
    report = OptionCleaningReport(rows_in=table.num_rows)
    log.info("Cleaning %d raw option quotes", report.rows_in)

    report.memory_mb_before = table.nbytes / 1e6
    table = _narrow(table)
    report.memory_mb_after = table.nbytes / 1e6
    log.info(
        "Memory optimization complete: %.1f MB -> %.1f MB",
        report.memory_mb_before,
        report.memory_mb_after,
    )

    table = _drop_invalid_keys(table, report)
    log.info("Dropped %d rows without a valid key %s", report.rows_invalid_key, KEY_COLUMNS[:4])

    table = _drop_duplicates(table, report)
    log.info(
        "Removed %d duplicate quotes (%d with differing values; the one read last kept)",
        report.duplicate_rows,
        report.conflicting_duplicates,
    )

    derived = _derived_columns(table)
    report.flags = {flag: _count(derived[flag]) for flag in FLAG_COLUMNS}
    report.usable_rows = _count(derived["usable"])
    log.info("Derived mid, spread, dte_days, tau and moneyness")
    log.info("Flagged unusable quotes: %s; usable %d", report.flags, report.usable_rows)

    columns = {name: table[name] for name in table.column_names}
    columns.update(derived)
    table = pa.table(
        {name: columns[name] for name in OPTION_QUOTES_DTYPES if name not in _FORWARD_COLUMNS}
    )
    frame = _to_pandas(table)
    del table, columns, derived
    add_parity_forwards(frame)
    with_forward = int((frame["forward_pairs"] > 0).sum())
    log.info(
        "Parity forwards: %d of %d quotes have their expiry's forward from put-call parity",
        with_forward,
        len(frame),
    )
    report.rows_out = len(frame)
    log.info("option_quotes: %d rows out of %d in", report.rows_out, report.rows_in)
    # The memory figures depend on how the input was laid out in memory, not on its
    # content, so they stay out of the notes (which are written into the Parquet file).
    counts = {k: v for k, v in report.as_dict().items() if not k.startswith("memory_mb")}
    return with_notes(frame, {**notes, "cleaning": counts}), report
