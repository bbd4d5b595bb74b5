"""Writing and reading tables as Parquet, the one way the IO manager and the CLI use.

A table may carry *notes*: a small JSON document about how it was made (its source
files and their origin, the cleaning counts). They travel in the Parquet file's schema
metadata under ``optvol``, in an Arrow table's schema metadata, and in a pandas frame's
``attrs["optvol"]``, so the evaluation and the reports can say where the data came from
without re-reading the inputs.
"""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from optvol.core.atomic import atomic_path

COMPRESSION = "zstd"
NOTES_KEY = "optvol"


def notes_of(data: pd.DataFrame | pa.Table) -> dict:
    """The notes a table carries (``{}`` if none)."""
    if isinstance(data, pd.DataFrame):
        return dict(data.attrs.get(NOTES_KEY, {}))
    raw = (data.schema.metadata or {}).get(NOTES_KEY.encode())
    return json.loads(raw) if raw else {}


def with_notes(data: pd.DataFrame | pa.Table, notes: dict) -> pd.DataFrame | pa.Table:
    """``data`` carrying ``notes`` (a frame is changed in place; a table is replaced)."""
    if isinstance(data, pd.DataFrame):
        data.attrs[NOTES_KEY] = notes
        return data
    metadata = dict(data.schema.metadata or {})
    metadata[NOTES_KEY.encode()] = json.dumps(notes, sort_keys=True, allow_nan=False).encode()
    return data.replace_schema_metadata(metadata)


def to_arrow(data: pd.DataFrame | pa.Table) -> pa.Table:
    """An Arrow table of ``data``; pandas dtypes (categories, nullable ints) are kept in the
    Parquet file's pandas metadata so the frame reads back with the same dtypes."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        table = pa.Table.from_pandas(data, preserve_index=False)
        notes = notes_of(data)
        return with_notes(table, notes) if notes else table
    raise TypeError(f"expected a pandas DataFrame or an Arrow table, not {type(data).__name__}")


def write_parquet(data: pd.DataFrame | pa.Table, path: str | os.PathLike) -> pa.Table:
    """Write ``data`` to ``path`` atomically; same input, same bytes. Returns the Arrow table."""
    table = to_arrow(data)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=COMPRESSION)
    return table


def read_frame(path: str | os.PathLike) -> pd.DataFrame:
    """The Parquet file at ``path`` as a pandas frame, with its notes in ``attrs``."""
    table = pq.read_table(path)
    notes = notes_of(table)
    frame = table.to_pandas()
    return with_notes(frame, notes) if notes else frame
