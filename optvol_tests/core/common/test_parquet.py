"""How optvol writes Parquet: which columns are dictionary-encoded, the codec, same bytes
for the same table."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from optvol.core.common.parquet import COMPRESSION, write_parquet


def _encodings(path) -> dict[str, set[str]]:
    """Each column's encodings and codec in the first row group of the file at ``path``."""
    group = pq.ParquetFile(path).metadata.row_group(0)
    return {
        group.column(i).path_in_schema: {*group.column(i).encodings, group.column(i).compression}
        for i in range(group.num_columns)
    }


def test_repetitive_columns_get_a_dictionary_and_nearly_unique_ones_do_not(tmp_path):
    rows = 50_000
    rng = np.random.default_rng(8)
    table = pa.table(
        {
            "strike": rng.choice(np.arange(200.0, 500.0, 5.0), rows),  # 60 values
            "iv": rng.uniform(0.05, 1.5, rows).astype("float32"),  # nearly unique
            "source_row": np.arange(rows),  # unique
            "option_type": pa.array(rng.choice(["C", "P"], rows)).dictionary_encode(),
        }
    )
    path = tmp_path / "quotes.parquet"
    write_parquet(table, path)

    encodings = _encodings(path)
    assert "RLE_DICTIONARY" in encodings["strike"]
    assert "RLE_DICTIONARY" in encodings["option_type"]
    assert "RLE_DICTIONARY" not in encodings["iv"]
    assert "RLE_DICTIONARY" not in encodings["source_row"]
    assert all(COMPRESSION.upper() in found for found in encodings.values())
    assert pq.read_table(path).cast(table.schema).equals(table)


def test_the_same_table_is_written_as_the_same_bytes(tmp_path):
    table = pa.table({"x": np.arange(40_000) % 7, "y": np.linspace(0.0, 1.0, 40_000)})
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(table, first)
    write_parquet(table, second)
    assert first.read_bytes() == second.read_bytes()
