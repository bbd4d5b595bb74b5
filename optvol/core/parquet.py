"""Writing tables as Parquet, the one way the IO manager and the CLI both use."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from optvol.core.atomic import atomic_path

COMPRESSION = "zstd"


def to_arrow(data: pd.DataFrame | pa.Table) -> pa.Table:
    """An Arrow table of ``data``; pandas dtypes (categories, nullable ints) are kept in the
    Parquet file's pandas metadata so the frame reads back with the same dtypes."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise TypeError(f"expected a pandas DataFrame or an Arrow table, not {type(data).__name__}")


def write_parquet(data: pd.DataFrame | pa.Table, path: str | os.PathLike) -> pa.Table:
    """Write ``data`` to ``path`` atomically; same input, same bytes. Returns the Arrow table."""
    table = to_arrow(data)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression=COMPRESSION)
    return table
