"""The optionsDX end-of-day format (the public "SPY option chains 2020-2022" data set).

One row per (quote date, expiry, strike) with the call and the put side by side. Quirks,
all handled here by specification rather than by any one file's habits:

* fields are separated by a comma **and** a space; the header names are in brackets;
* missing values are empty fields (``, ,``) — IV deep in the money and at expiry, volume
  on most rows, ``last`` where nothing traded;
* sizes are strings ``"bid_size x ask_size"`` (``693 x 767``);
* numbers carry six decimals (``DTE`` is ``49.000000``); dates are ``YYYY-MM-DD``, the
  read time ``YYYY-MM-DD HH:MM``;
* a vendor ships one file per month or one big file; trading days can be missing.

``QUOTE_UNIXTIME``, ``EXPIRE_UNIX``, ``QUOTE_TIME_HOURS`` and ``STRIKE_DISTANCE(_PCT)``
re-encode other fields and are not kept.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from optvol.core.common.csv_stream import iter_batches, split_header
from optvol.core.common.errors import OptvolInputError, excerpt, excerpts
from optvol.core.common.input_files import InputSource, find_line
from optvol.core.options.ingest.schema import conform, constant, source_columns

OPTIONSDX_COLUMNS = (
    "QUOTE_UNIXTIME", "QUOTE_READTIME", "QUOTE_DATE", "QUOTE_TIME_HOURS", "UNDERLYING_LAST",
    "EXPIRE_DATE", "EXPIRE_UNIX", "DTE", "C_DELTA", "C_GAMMA", "C_VEGA", "C_THETA", "C_RHO",
    "C_IV", "C_VOLUME", "C_LAST", "C_SIZE", "C_BID", "C_ASK", "STRIKE", "P_BID", "P_ASK",
    "P_SIZE", "P_LAST", "P_DELTA", "P_GAMMA", "P_VEGA", "P_THETA", "P_RHO", "P_IV",
    "P_VOLUME", "STRIKE_DISTANCE", "STRIKE_DISTANCE_PCT",
)  # fmt: skip
# Fields are separated by a comma and a space; they are parsed on the comma, the space
# being stripped with the values (or read as a missing value when the field is empty).
SEPARATOR = ", "
OPTIONSDX_HEADER = SEPARATOR.join(f"[{name}]" for name in OPTIONSDX_COLUMNS)

# Per-side fields: raw column -> optionsDX name without the C_/P_ prefix.
_SIDE_FIELDS = {
    "bid": "BID", "ask": "ASK", "last": "LAST", "volume": "VOLUME", "iv": "IV",
    "delta": "DELTA", "gamma": "GAMMA", "vega": "VEGA", "theta": "THETA", "rho": "RHO",
}  # fmt: skip
# The read time is printed to the minute; accept seconds too.
READTIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S")
_SIZE = r"^\s*(?P<bid>\d+)\s*x\s*(?P<ask>\d+)\s*$"


def header_names(header: str) -> list[str]:
    """The header's column names, brackets removed and upper-cased."""
    return [name.strip("[]").strip().upper() for name in split_header(header, ",")]


def is_optionsdx_header(header: str) -> bool:
    return tuple(header_names(header)) == OPTIONSDX_COLUMNS


def describe_header_mismatch(header: str) -> str:
    """What differs between ``header`` and the optionsDX header, for error messages."""
    names = header_names(header)
    missing = [c for c in OPTIONSDX_COLUMNS if c not in names]
    extra = [c for c in names if c not in OPTIONSDX_COLUMNS]
    if not missing and not extra:
        return "the optionsDX columns are present but in another order"
    more = "..." if len(missing) > 6 else ""
    return f"missing {missing[:6]}{more}, unexpected {excerpts(extra[:6])}"


def _column_types() -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {name: pa.float64() for name in OPTIONSDX_COLUMNS}
    types.update(
        QUOTE_READTIME=pa.timestamp("ms"),
        QUOTE_DATE=pa.date32(),
        EXPIRE_DATE=pa.date32(),
        C_SIZE=pa.string(),
        P_SIZE=pa.string(),
        QUOTE_UNIXTIME=pa.int64(),
        EXPIRE_UNIX=pa.int64(),
    )
    return types


_KEPT = ["QUOTE_READTIME", "QUOTE_DATE", "UNDERLYING_LAST", "EXPIRE_DATE", "DTE", "STRIKE"] + [
    f"{side}_{name}" for side in "CP" for name in [*_SIDE_FIELDS.values(), "SIZE"]
]


def _split_sizes(sizes: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array | None]:
    """Bid and ask sizes from ``"693 x 767"`` strings, and a mask of malformed values
    (``None`` when the quick split shows every value is well formed)."""
    quick = _split_well_formed_sizes(sizes)
    if quick is not None:
        return *quick, None
    parts = pc.extract_regex(sizes, _SIZE)
    malformed = pc.and_(pc.is_valid(sizes), pc.invert(pc.is_valid(parts)))
    bid = pc.struct_field(parts, "bid").cast(pa.int64())
    ask = pc.struct_field(parts, "ask").cast(pa.int64())
    return bid, ask, malformed


def _split_well_formed_sizes(sizes: pa.Array) -> tuple[pa.Array, pa.Array] | None:
    """Bid and ask sizes of values written exactly ``digits x digits`` (surrounding spaces
    aside), split at the ``" x "``: faster than the regular expression by half.
    ``None`` if any value is written otherwise."""
    parts = pc.split_pattern(pc.ascii_trim_whitespace(sizes), " x ")
    if not pc.all(pc.fill_null(pc.equal(pc.list_value_length(parts), 2), True)).as_py():
        return None
    numbers = pc.list_flatten(parts)  # bid, ask, bid, ask, ... of the present values
    if not pc.all(pc.ascii_is_decimal(numbers)).as_py():
        return None
    values = numbers.cast(pa.int64()).to_numpy()
    if not sizes.null_count:
        return pa.array(values[0::2]), pa.array(values[1::2])
    present = sizes.is_valid().to_numpy(zero_copy_only=False)
    bid, ask = np.zeros((2, len(sizes)), dtype=np.int64)
    bid[present], ask[present] = values[0::2], values[1::2]
    return pa.array(bid, mask=~present), pa.array(ask, mask=~present)


# Sizes are stored as 32-bit integers; a quote for more contracts than that is garbage.
MAX_SIZE = np.iinfo(np.int32).max
MAX_SIZE_TEXT = len(f"{MAX_SIZE} x {MAX_SIZE}")


def _oversized(bid: pa.Array, ask: pa.Array) -> pa.Array:
    """Where either size exceeds :data:`MAX_SIZE` (missing sizes are not)."""
    return pc.fill_null(pc.or_(pc.greater(bid, MAX_SIZE), pc.greater(ask, MAX_SIZE)), False)


def _size_error(
    source: InputSource, side: str, bad_values: pa.Array, reason: str | None = None
) -> OptvolInputError:
    bad = bad_values[0].as_py().strip()
    index = OPTIONSDX_COLUMNS.index(f"{side}_SIZE")

    def has_bad_size(text: str) -> bool:
        fields = text.split(",")
        return index < len(fields) and fields[index].strip() == bad

    line = find_line(source, has_bad_size)
    where = f"line {line}, " if line else ""
    return OptvolInputError(
        f"{source.label}: {where}column {side}_SIZE: invalid value {excerpt(bad)!r}; "
        + (reason or "expected 'bid_size x ask_size' such as '693 x 767'")
    )


def read_optionsdx(source: InputSource) -> Iterator[pa.RecordBatch]:
    """Stream ``source`` as raw option quotes, two rows (call, put) per input row."""
    first_row = 1
    batches = iter_batches(
        source, OPTIONSDX_COLUMNS, _column_types(), _KEPT, ",",
        timestamp_formats=READTIME_FORMATS, separator=SEPARATOR,
    )  # fmt: skip
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        common = {
            "quote_date": batch.column("QUOTE_DATE"),
            "quote_time": batch.column("QUOTE_READTIME"),
            "expiration": batch.column("EXPIRE_DATE"),
            "strike": batch.column("STRIKE"),
            "underlying_last": batch.column("UNDERLYING_LAST"),
            "dte": batch.column("DTE"),
            **source_columns(source.label, first_row, n),
        }
        for side in "CP":
            sizes = batch.column(f"{side}_SIZE")
            # Longer than "2147483647 x 2147483647": too large to convert, or not a size.
            too_long = pc.fill_null(
                pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(sizes)), MAX_SIZE_TEXT), False
            )
            if pc.any(too_long).as_py():
                reason = f"a size above {MAX_SIZE:,} contracts, or not a size"
                raise _size_error(source, side, sizes.filter(too_long), reason)
            bid_size, ask_size, malformed = _split_sizes(sizes)
            if malformed is not None and pc.any(malformed).as_py():
                raise _size_error(source, side, batch.column(f"{side}_SIZE").filter(malformed))
            oversized = _oversized(bid_size, ask_size)
            if pc.any(oversized).as_py():
                raise _size_error(source, side, batch.column(f"{side}_SIZE").filter(oversized),
                                  f"a size above {MAX_SIZE:,} contracts")  # fmt: skip
            columns = dict(common)
            columns.update(
                {raw: batch.column(f"{side}_{name}") for raw, name in _SIDE_FIELDS.items()}
            )
            columns.update(option_type=constant(side, n), bid_size=bid_size, ask_size=ask_size)
            yield conform(columns, n)
        first_row += n


def read_optionsdx_quote_dates(source: InputSource) -> Iterator[pa.Array]:
    """Stream only the ``QUOTE_DATE`` values (``date32``) of ``source``, in file order;
    the other columns are split into fields but not converted."""
    types = {"QUOTE_DATE": pa.date32()}
    for batch in iter_batches(
        source, OPTIONSDX_COLUMNS, types, ["QUOTE_DATE"], ",", separator=SEPARATOR
    ):
        yield batch.column("QUOTE_DATE")
