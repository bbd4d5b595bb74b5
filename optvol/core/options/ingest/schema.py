"""The raw option quote table: one row per option side as the vendor gave it, typed.

Every reader (optionsDX wide, long format) produces this schema, so the cleaning step
and the checks see one shape whatever the source. Values are kept as they came: no row is
dropped, no price corrected, nothing derived. ``source_file`` names the file (``archive.zip:
member.csv`` inside a zip) and ``source_row`` the 1-based data row in it (the header and
blank lines not counted); an optionsDX row gives a call and a put with the same row.
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

RAW_OPTION_SCHEMA = pa.schema(
    [
        ("quote_date", pa.date32()),
        ("quote_time", pa.timestamp("ms")),  # Parquet has no second unit
        ("expiration", pa.date32()),
        ("option_type", pa.string()),
        ("root", pa.string()),  # the option class (SPX, SPXW); null where the file has none
        ("strike", pa.float64()),
        ("underlying_last", pa.float64()),
        ("bid", pa.float64()),
        ("ask", pa.float64()),
        ("last", pa.float64()),
        ("bid_size", pa.int64()),
        ("ask_size", pa.int64()),
        ("volume", pa.float64()),
        ("open_interest", pa.float64()),
        ("iv", pa.float64()),
        ("delta", pa.float64()),
        ("gamma", pa.float64()),
        ("vega", pa.float64()),
        ("theta", pa.float64()),
        ("rho", pa.float64()),
        ("dte", pa.float64()),
        ("source_file", pa.dictionary(pa.int32(), pa.string())),
        ("source_row", pa.int64()),
    ]
)
RAW_OPTION_COLUMNS = tuple(RAW_OPTION_SCHEMA.names)
# A contract on a day. The root is part of it: SPX and SPXW list the same expiry and strike.
KEY_COLUMNS = ("quote_date", "expiration", "strike", "option_type", "root")


def source_columns(label: str, first_row: int, n_rows: int) -> dict[str, pa.Array]:
    """``source_file`` (dictionary-encoded, one entry) and 1-based ``source_row`` arrays."""
    indices = pa.array(np.zeros(n_rows, dtype=np.int32))
    return {
        "source_file": pa.DictionaryArray.from_arrays(indices, pa.array([label])),
        "source_row": pa.array(np.arange(first_row, first_row + n_rows, dtype=np.int64)),
    }


def constant(value: str, n_rows: int) -> pa.Array:
    """A string array of ``n_rows`` times ``value``."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n_rows, dtype=np.int8)), pa.array([value])
    ).cast(pa.string())


@functools.lru_cache(maxsize=64)
def _nulls(type_: pa.DataType, n_rows: int) -> pa.Array:
    """``n_rows`` nulls of ``type_``, shared: the columns a format lacks (open interest in
    optionsDX) then take no memory per batch."""
    return pa.nulls(n_rows, type=type_)


def conform(columns: dict[str, pa.Array], n_rows: int) -> pa.RecordBatch:
    """A batch in :data:`RAW_OPTION_SCHEMA`: missing columns as nulls, types cast."""
    arrays = []
    for field in RAW_OPTION_SCHEMA:
        array = columns.get(field.name)
        if array is None:
            array = _nulls(field.type, 1 << max(n_rows - 1, 0).bit_length()).slice(0, n_rows)
        elif array.type != field.type:
            array = array.cast(field.type)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=RAW_OPTION_SCHEMA)
