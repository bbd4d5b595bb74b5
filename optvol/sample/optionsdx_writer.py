"""
Writer for the optionsDX end-of-day chain format, quirks included.

Fields are separated by ``", "``, missing values are empty fields, numbers
carry six decimals, sizes are ``"bid x ask"`` strings. Formatting runs in
Arrow (floats cast to ``decimal128(18, 6)`` print with exactly six decimals,
like ``%.6f``) with a one-character placeholder separator that is replaced by
``", "`` on the encoded chunk; chunks are streamed so memory stays bounded.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from optvol.core.common.atomic import atomic_open
from optvol.core.options.ingest.optionsdx import OPTIONSDX_COLUMNS, OPTIONSDX_HEADER
from optvol.sample.calendar import unix_close

__all__ = ["COLUMNS", "HEADER", "format_chunk", "write_optionsdx"]

COLUMNS = OPTIONSDX_COLUMNS
HEADER = OPTIONSDX_HEADER + "\n"

_INT_COLUMNS = ("QUOTE_UNIXTIME", "EXPIRE_UNIX")
_DATE_COLUMNS = ("QUOTE_DATE", "EXPIRE_DATE")
# Size strings are assembled from two integer columns of the input frame.
_SIZE_COLUMNS = {"C_SIZE": ("C_BID_SIZE", "C_ASK_SIZE"), "P_SIZE": ("P_BID_SIZE", "P_ASK_SIZE")}
_DECIMAL = pa.decimal128(18, 6)
_PLACEHOLDER = "\x1f"  # ASCII unit separator: never inside a field


def _date_strings(values: pd.Series) -> pa.Array:
    days = np.asarray(values, dtype="datetime64[ns]").astype("datetime64[D]")
    return pa.array(days, type=pa.date32()).cast(pa.string())


def format_chunk(frame: pd.DataFrame) -> bytes:
    """
    Format rows in the optionsDX text format (no header).

    Parameters
    ----------
    frame : DataFrame
        One row per (quote date, expiry, strike). Columns named as in
        :data:`COLUMNS`, except that ``QUOTE_READTIME``, ``QUOTE_UNIXTIME``
        and ``EXPIRE_UNIX`` may be omitted (derived from the dates, 16:00
        New York) and each size column is given as two integer columns
        (``C_BID_SIZE``, ``C_ASK_SIZE``, ``P_BID_SIZE``, ``P_ASK_SIZE``).
        ``QUOTE_DATE`` and ``EXPIRE_DATE`` are datetimes; every other column is
        numeric with NaN for a missing value.

    Returns
    -------
    bytes
        UTF-8 lines ending in ``"\\n"``, fields separated by ``", "``.
    """
    arrays: dict[str, pa.Array] = {}
    for name in COLUMNS:
        if name in _DATE_COLUMNS:
            arrays[name] = _date_strings(frame[name])
        elif name == "QUOTE_READTIME":
            dates = _date_strings(frame["QUOTE_DATE"])
            arrays[name] = pc.binary_join_element_wise(dates, pa.scalar("16:00"), " ")
        elif name in _INT_COLUMNS:
            if name in frame:
                values = frame[name].to_numpy(dtype=np.int64)
            else:
                source = "QUOTE_DATE" if name == "QUOTE_UNIXTIME" else "EXPIRE_DATE"
                values = unix_close(frame[source].to_numpy())
            arrays[name] = pa.array(values, type=pa.int64())
        elif name in _SIZE_COLUMNS:
            bid, ask = (
                pa.array(frame[c].to_numpy(dtype=np.int64)).cast(pa.string())
                for c in _SIZE_COLUMNS[name]
            )
            arrays[name] = pc.binary_join_element_wise(bid, ask, " x ")
        else:
            values = frame[name].to_numpy(dtype=np.float64)
            arrays[name] = pa.array(values, from_pandas=True).cast(_DECIMAL, safe=False)
    table = pa.table(arrays)
    sink = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, delimiter=_PLACEHOLDER, quoting_style="none")
    pacsv.write_csv(table, sink, options)
    return sink.getvalue().replace(_PLACEHOLDER.encode(), b", ")


def write_optionsdx(path: Path, chunks: Iterable[pd.DataFrame]) -> int:
    """
    Write chunks of rows to ``path`` atomically, header first.

    Returns
    -------
    int
        The number of data rows written.
    """
    rows = 0
    with atomic_open(Path(path)) as handle:
        handle.write(HEADER.encode())
        for frame in chunks:
            if len(frame):
                handle.write(format_chunk(frame))
                rows += len(frame)
    return rows
