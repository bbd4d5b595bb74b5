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
from collections.abc import Iterable, Sequence
from numbers import Number

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from optvol.core.common.atomic import atomic_path
from optvol.core.common.storage import ArtifactPath, forget_listing, is_remote

# Where a Parquet file is: a local path, or a remote UPath (optvol.core.common.storage).
Location = str | os.PathLike | ArtifactPath
# Snappy, Parquet's usual codec: files a quarter larger than zstd's, written a quarter
# faster (the full-size sample's ingest + clean writes 3.6M rows twice; benchmarks/ingest.py).
COMPRESSION = "snappy"
DICTIONARY_SAMPLE_ROWS = 16_384
DICTIONARY_MAX_DISTINCT = 2_048
NOTES_KEY = "optvol"


def notes_of(data: pd.DataFrame | pa.Table | pa.Schema) -> dict:
    """The notes a table (or its schema) carries (``{}`` if none)."""
    if isinstance(data, pd.DataFrame):
        return dict(data.attrs.get(NOTES_KEY, {}))
    schema = data if isinstance(data, pa.Schema) else data.schema
    raw = (schema.metadata or {}).get(NOTES_KEY.encode())
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


def write_parquet(data: pd.DataFrame | pa.Table, path: Location) -> pa.Table:
    """Write ``data`` to ``path`` (local, or a remote UPath) atomically; same input, same
    bytes. Returns the Arrow table."""
    with atomic_path(path) as tmp:
        return write_parquet_file(data, tmp)


def write_parquet_file(data: pd.DataFrame | pa.Table, path: str | os.PathLike) -> pa.Table:
    """Write ``data`` to the local file ``path`` as it is, not atomically: for a temporary
    path a caller renames or uploads once complete (see :mod:`optvol.core.common.atomic`)."""
    table = to_arrow(data)
    pq.write_table(table, path, compression=COMPRESSION, use_dictionary=_dictionary_columns(table))
    return table


def _dictionary_columns(table: pa.Table) -> list[str]:
    """The columns worth dictionary-encoding: categories, and columns with at most
    :data:`DICTIONARY_MAX_DISTINCT` values among their first :data:`DICTIONARY_SAMPLE_ROWS`.

    Parquet dictionary-encodes every column by default; for nearly unique columns (IV,
    greeks, source rows) building the dictionary costs 3-6x the plain write and the file
    grows, so those are written plain. Decided from the data alone: same table, same bytes.
    The sample is small because counting distinct values costs a hash of every sampled
    value in every column (65,536 rows cost as much as a fifth of the write).
    """
    sample = table.slice(0, DICTIONARY_SAMPLE_ROWS)
    return [
        name
        for name, column in zip(sample.column_names, sample.columns, strict=True)
        if pa.types.is_dictionary(column.type)
        or pa.types.is_null(column.type)
        or pc.count_distinct(column).as_py() <= DICTIONARY_MAX_DISTINCT
    ]


def read_table(path: Location) -> pa.Table:
    """The Parquet file at ``path`` (local, or a remote UPath) as an Arrow table."""
    if is_remote(path):
        forget_listing(path)
        with path.open("rb") as handle:
            return pq.read_table(handle)
    return pq.read_table(path)


def _frame_of(table: pa.Table) -> pd.DataFrame:
    """``table`` as a pandas frame with its notes in ``attrs``, dtypes restored from the
    pandas metadata. ``table`` is consumed (its buffers are freed as columns convert), so
    the two never both stay whole in memory.

    Not ``split_blocks``: it would save a little more, but hands out read-only columns
    where Arrow's memory can be shared, and the frame's users edit columns in place."""
    notes = notes_of(table)
    frame = table.to_pandas(self_destruct=True)
    return with_notes(frame, notes) if notes else frame


def read_frame(path: Location) -> pd.DataFrame:
    """The Parquet file at ``path`` as a pandas frame, with its notes in ``attrs``."""
    return _frame_of(read_table(path))


def written_from_pandas(table: pa.Table) -> bool:
    """Whether ``table`` was made from a pandas frame (it carries pandas metadata)."""
    return b"pandas" in (table.schema.metadata or {})


def read_as_written(path: Location) -> pd.DataFrame | pa.Table:
    """The Parquet file at ``path`` as what was written: a pandas frame if it was written
    from one (see :func:`written_from_pandas`), else an Arrow table; notes included."""
    table = read_table(path)
    return _frame_of(table) if written_from_pandas(table) else table


def schema_difference(expected: pa.Schema, found: pa.Schema) -> str | None:
    """How ``found`` differs from ``expected`` (``None`` if the tables concatenate): the
    same column names in the same order, and the same types, except that a column of
    nulls fits any type and categories (dictionaries) of the same values fit whatever
    their index width."""
    if expected.names != found.names:
        missing = [n for n in expected.names if n not in found.names]
        extra = [n for n in found.names if n not in expected.names]
        if missing or extra:
            return f"columns missing {missing}, unexpected {extra}"
        return f"columns in the order {found.names}, not {expected.names}"
    for want, got in zip(expected, found, strict=True):
        if not _types_concatenate(want.type, got.type):
            return f"column {want.name!r} is {got.type}, not {want.type}"
    return None


def _types_concatenate(a: pa.DataType, b: pa.DataType) -> bool:
    if a == b or pa.types.is_null(a) or pa.types.is_null(b):
        return True
    both_dictionaries = pa.types.is_dictionary(a) and pa.types.is_dictionary(b)
    return both_dictionaries and a.value_type == b.value_type and a.ordered == b.ordered


def concat_tables(tables: list[pa.Table], labels: Sequence[str]) -> pa.Table:
    """The tables one after the other, carrying their merged notes (:func:`merge_notes`).

    ``tables`` is emptied, so that the caller holds the rows once, in the result. Raises
    ``ValueError`` naming the label of a table whose columns differ from the first's.
    """
    if not tables:
        raise ValueError("no tables to concatenate")
    first = tables[0].schema
    for table, label in zip(tables[1:], labels[1:], strict=True):
        difference = schema_difference(first, table.schema)
        if difference:
            raise ValueError(f"{label} cannot follow {labels[0]}: {difference}")
    notes = merge_notes([notes_of(table) for table in tables])
    # "permissive" only widens what schema_difference let through: nulls and index widths.
    combined = pa.concat_tables(tables, promote_options="permissive")
    tables.clear()
    return with_notes(combined, notes) if notes else combined


def read_partition_tables(paths: Sequence[Location]) -> pa.Table:
    """The Parquet files ``paths`` (partitions of one table) as one Arrow table, rows in
    the order of ``paths``, with their merged notes."""
    return concat_tables([read_table(path) for path in paths], [str(path) for path in paths])


def read_partitions(paths: Sequence[Location]) -> pd.DataFrame:
    """The Parquet files ``paths`` (partitions of one table) as one pandas frame, rows in
    the order of ``paths``, with the dtypes a single file of all the rows would read back
    with (categories united across files) and the merged notes.

    Memory: the files are read as Arrow (one copy of the rows), then converted, the
    Arrow buffers freed as their columns are copied, so two whole copies never coexist.
    """
    return _frame_of(read_partition_tables(paths))


def merge_notes(notes_list: Iterable[dict]) -> dict:
    """One notes document for the concatenation of tables carrying ``notes_list``.

    Key by key, over the documents that have the key: dicts merge recursively; lists
    are concatenated, an entry equal to one already taken not repeated, and entries
    describing an input (a dict with a ``label``) one per input with their row counts
    summed (the months of one file are parts of one source); numbers (not
    booleans) are summed (counts of the parts add up to the count of the whole); other
    values are kept when all equal. Values that differ otherwise (two strings, or a list
    and a number) become the list of their distinct values in order of first
    appearance, so that no part's note is silently dropped.
    """
    documents = list(notes_list)
    keys = dict.fromkeys(key for notes in documents for key in notes)
    return {key: _merge_values([n[key] for n in documents if key in n]) for key in keys}


# The row counts of one input's entry in ``sources``: what each part read from the input.
_SOURCE_COUNTS = ("input_rows", "quote_rows")


def _merge_sources(entries: list[dict]) -> list[dict]:
    """Entries of one list that describe inputs (each with a ``label``), one per input:
    its row counts summed over the parts, its other fields (format, bytes, origin) taken
    once, as they describe the file, not the part."""
    by_label: dict[str, list[dict]] = {}
    for entry in entries:
        by_label.setdefault(entry["label"], []).append(entry)
    merged = []
    for group in by_label.values():
        entry = {}
        for key in dict.fromkeys(k for e in group for k in e):
            values = [e[key] for e in group if key in e]
            entry[key] = sum(values) if key in _SOURCE_COUNTS else _merge_values(values, True)
        merged.append(entry)
    return merged


def _merge_values(values: list, same_thing: bool = False):
    """Merged ``values`` of one key; ``same_thing``: they describe one object, so equal
    numbers are that number, not a sum."""
    if all(isinstance(v, dict) for v in values):
        return merge_notes(values)
    if all(isinstance(v, list) for v in values):
        entries = [entry for value in values for entry in value]
        if entries and all(isinstance(e, dict) and "label" in e for e in entries):
            return _merge_sources(entries)
        return _distinct(entries)
    if same_thing:
        distinct = _distinct(values)
        return distinct[0] if len(distinct) == 1 else distinct
    if all(isinstance(v, Number) and not isinstance(v, bool) for v in values):
        return sum(values)
    distinct = _distinct(values)
    return distinct[0] if len(distinct) == 1 else distinct


def _distinct(values: Iterable) -> list:
    """``values`` without repeats (compared as canonical JSON), in order of first appearance."""
    seen: dict[str, object] = {}
    for value in values:
        seen.setdefault(json.dumps(value, sort_keys=True, default=str), value)
    return list(seen.values())
