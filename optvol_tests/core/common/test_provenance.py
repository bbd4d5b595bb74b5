"""Where inputs came from (the sample manifest) and the notes that carry it, with the
cleaning counts, from the raw files through Parquet to the evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa

from optvol.core.common.parquet import notes_of, read_frame, with_notes, write_parquet
from optvol.core.common.provenance import MANIFEST_NAME, SUPPLIED, origin_of, write_manifest
from optvol.core.options.ingest.clean import clean_option_quotes
from optvol.core.options.ingest.read import read_option_files
from optvol.core.volatility.market import clean_market, read_market_file
from optvol_tests.builders import small_chain, write_market, write_optionsdx


def sample_root(tmp_path: Path) -> Path:
    """raw/options/chain.txt (simulated) and raw/raw_market.csv (real), in the manifest."""
    raw = tmp_path / "raw"
    chain = write_optionsdx(raw / "options" / "chain.txt", small_chain())
    market = write_market(raw / "raw_market.csv")
    write_manifest(raw, {chain: ("simulated", "made up"), market: ("real", "from the market")})
    return raw


def test_manifest_names_the_origin_of_unchanged_files(tmp_path):
    raw = sample_root(tmp_path)
    assert origin_of(raw / "options" / "chain.txt") == {
        "origin": "simulated",
        "description": "made up",
    }
    assert origin_of(raw / "raw_market.csv")["origin"] == "real"
    entries = json.loads((raw / MANIFEST_NAME).read_text())["files"]
    assert set(entries) == {"options/chain.txt", "raw_market.csv"}


def test_changed_unlisted_or_unreadable_files_are_supplied(tmp_path):
    raw = sample_root(tmp_path)
    chain = raw / "options" / "chain.txt"
    data = bytearray(chain.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")  # same size, other bytes
    chain.write_bytes(bytes(data))
    assert origin_of(chain)["origin"] == SUPPLIED
    other = write_optionsdx(raw / "options" / "mine.txt", small_chain())
    assert origin_of(other)["origin"] == SUPPLIED
    (raw / MANIFEST_NAME).write_text("{not json")
    assert origin_of(raw / "raw_market.csv")["origin"] == SUPPLIED


def test_option_notes_travel_from_files_through_cleaning_and_parquet(tmp_path):
    raw = sample_root(tmp_path)
    table, reports = read_option_files([raw / "options" / "chain.txt"])
    (source,) = notes_of(table)["sources"]
    assert source["origin"] == "simulated" and source["label"] == "chain.txt"
    assert source["quote_rows"] == reports[0].quote_rows == table.num_rows
    frame, report = clean_option_quotes(table)
    notes = notes_of(frame)
    assert notes["sources"] == [source]
    assert notes["cleaning"] == {
        k: v for k, v in report.as_dict().items() if not k.startswith("memory_mb")
    }
    write_parquet(frame, tmp_path / "quotes.parquet")
    assert notes_of(read_frame(tmp_path / "quotes.parquet")) == notes


def test_market_notes_travel_through_cleaning(tmp_path):
    raw = sample_root(tmp_path)
    frame, report = clean_market(read_market_file(raw / "raw_market.csv"))
    notes = notes_of(frame)
    assert notes["sources"][0]["origin"] == "real"
    assert notes["cleaning"]["rows_out"] == report.rows_out == len(frame)


def test_notes_keep_the_pandas_metadata_and_tables_without_notes_have_none(tmp_path):
    frame = pd.DataFrame({"kind": pd.Categorical(["a", "b"]), "n": pd.array([1, None], "Int32")})
    write_parquet(frame, tmp_path / "plain.parquet")
    plain = read_frame(tmp_path / "plain.parquet")
    assert notes_of(plain) == {} and plain.attrs == {}
    with_notes(frame, {"sources": []})
    write_parquet(frame, tmp_path / "noted.parquet")
    back = read_frame(tmp_path / "noted.parquet")
    assert notes_of(back) == {"sources": []}
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    table = with_notes(pa.table({"x": [1]}).replace_schema_metadata({"keep": "me"}), {"a": 1})
    assert table.schema.metadata[b"keep"] == b"me" and notes_of(table) == {"a": 1}
