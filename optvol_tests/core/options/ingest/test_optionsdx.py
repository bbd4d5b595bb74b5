"""optionsDX parsing: every quirk of docs/architecture.md §3, on small files the tests write."""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from optvol.core.options.ingest.optionsdx import (
    OPTIONSDX_COLUMNS,
    OPTIONSDX_HEADER,
    is_optionsdx_header,
)
from optvol.core.options.ingest.read import read_option_files
from optvol.core.options.ingest.schema import RAW_OPTION_SCHEMA
from optvol_tests.builders import optionsdx_line, optionsdx_row, small_chain, write_optionsdx


def read_one(path: Path) -> dict[str, list]:
    table, _ = read_option_files([path])
    return table.to_pydict()


def test_header_is_the_exact_optionsdx_header():
    assert OPTIONSDX_HEADER.startswith("[QUOTE_UNIXTIME], [QUOTE_READTIME], [QUOTE_DATE]")
    assert OPTIONSDX_HEADER.endswith("[STRIKE_DISTANCE], [STRIKE_DISTANCE_PCT]")
    assert len(OPTIONSDX_COLUMNS) == 33
    assert is_optionsdx_header(OPTIONSDX_HEADER)
    assert is_optionsdx_header(OPTIONSDX_HEADER.replace(", ", ","))
    assert not is_optionsdx_header(OPTIONSDX_HEADER.replace("[C_IV], ", ""))


def test_one_wide_row_becomes_a_call_and_a_put_with_typed_values(tmp_path):
    path = write_optionsdx(tmp_path / "chain.txt", [optionsdx_row()])
    table, reports = read_option_files([path])
    assert table.schema == RAW_OPTION_SCHEMA
    rows = table.to_pylist()
    assert [r["option_type"] for r in rows] == ["C", "P"]
    call, put = rows
    # ", " separators: no value keeps the leading space, every number is typed.
    assert call["quote_date"] == dt.date(2020, 1, 2)
    assert call["expiration"] == dt.date(2020, 2, 21)
    assert call["quote_time"] == dt.datetime(2020, 1, 2, 16, 0)
    assert call["strike"] == put["strike"] == 324.0
    assert call["underlying_last"] == 324.87
    assert call["dte"] == 50.0  # "50.000000"
    assert (call["bid"], call["ask"], call["last"]) == (7.4, 7.48, 7.45)
    assert (put["bid"], put["ask"]) == (5.9, 5.97)
    assert call["iv"] == pytest.approx(0.12845) and put["iv"] == pytest.approx(0.13451)
    assert call["delta"] == pytest.approx(0.55123) and put["delta"] == pytest.approx(-0.44877)
    # "693 x 767" sizes.
    assert (call["bid_size"], call["ask_size"]) == (693, 767)
    assert (put["bid_size"], put["ask_size"]) == (120, 85)
    # Empty fields are missing values, not zeros or strings.
    assert call["volume"] is None and put["volume"] == 12.0
    assert put["last"] is None
    assert call["open_interest"] is None
    assert call["source_file"] == "chain.txt" and call["source_row"] == 1
    assert reports[0].format == "optionsdx" and reports[0].input_rows == 1


def test_empty_iv_and_greeks_are_missing(tmp_path):
    row = optionsdx_row(C_IV="", P_IV="", C_DELTA="", C_VOLUME="", P_VOLUME="")
    values = read_one(write_optionsdx(tmp_path / "c.csv", [row]))
    assert values["iv"] == [None, None]
    assert values["delta"][0] is None
    assert values["volume"] == [None, None]


def test_empty_size_field_is_missing_and_zero_sizes_are_kept(tmp_path):
    rows = [optionsdx_row(C_SIZE="", P_SIZE="0 x 0")]
    values = read_one(write_optionsdx(tmp_path / "c.csv", rows))
    assert values["bid_size"] == [None, 0] and values["ask_size"] == [None, 0]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_line_endings_and_byte_order_mark(tmp_path, newline):
    path = write_optionsdx(tmp_path / "c.csv", small_chain(), newline=newline)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    values = read_one(path)
    assert len(values["strike"]) == 2 * len(small_chain())
    assert values["option_type"].count("C") == values["option_type"].count("P")
    assert values["ask"][0] == pytest.approx(float(small_chain()[0]["C_ASK"]))
    assert values["quote_date"][0] == dt.date(2020, 1, 2)


def test_header_without_space_after_commas(tmp_path):
    path = tmp_path / "c.csv"
    line = optionsdx_line(optionsdx_row()).replace(", ", ",")
    path.write_text(OPTIONSDX_HEADER.replace(", ", ",") + "\n" + line + "\n")
    assert read_one(path)["strike"] == [324.0, 324.0]


def test_compressed_and_zipped_monthly_files_are_all_read(tmp_path):
    rows = small_chain()
    plain = write_optionsdx(tmp_path / "src" / "spy_eod_202001.txt", rows[:6])
    gz = tmp_path / "in" / "spy_eod_202002.csv.gz"
    gz.parent.mkdir()
    gz.write_bytes(
        gzip.compress(write_optionsdx(tmp_path / "src" / "b.csv", rows[6:12]).read_bytes())
    )
    archive = tmp_path / "in" / "spy_2020.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(plain, "spy_eod_202001.txt")
        zf.write(write_optionsdx(tmp_path / "src" / "c.csv", rows[12:]), "more/spy_eod_202003.csv")
        zf.writestr("README.md", "not data")
    table, reports = read_option_files([gz, archive])
    assert table.num_rows == 2 * len(rows)
    assert [r.label for r in reports] == [
        "spy_eod_202002.csv.gz",
        "spy_2020.zip:more/spy_eod_202003.csv",
        "spy_2020.zip:spy_eod_202001.txt",
    ]
    assert set(table.column("source_file").to_pylist()) == {r.label for r in reports}


def test_missing_trading_days_are_not_an_error(tmp_path):
    rows = small_chain(dates=("2020-01-02", "2020-01-09"))
    values = read_one(write_optionsdx(tmp_path / "c.csv", rows))
    assert sorted(set(values["quote_date"])) == [dt.date(2020, 1, 2), dt.date(2020, 1, 9)]


def test_streams_in_batches_without_losing_rows(tmp_path, monkeypatch):
    import optvol.core.common.csv_stream as csv_stream

    monkeypatch.setattr(csv_stream, "BLOCK_SIZE", 1024)  # forces many batches
    rows = small_chain(strikes=tuple(range(300, 340)))
    table, _ = read_option_files([write_optionsdx(tmp_path / "c.csv", rows)])
    assert table.num_rows == 2 * len(rows)
    assert table.column("source_row").to_pylist()[-1] == len(rows)
    assert isinstance(table, pa.Table)


def test_read_time_with_seconds_is_accepted(tmp_path):
    path = write_optionsdx(
        tmp_path / "c.csv", [optionsdx_row(QUOTE_READTIME="2020-01-02 15:59:30")]
    )
    assert read_one(path)["quote_time"][0] == dt.datetime(2020, 1, 2, 15, 59, 30)


def test_a_final_line_of_spaces_is_ignored(tmp_path):
    path = write_optionsdx(tmp_path / "c.csv", small_chain())
    path.write_text(path.read_text() + "   \n")
    assert len(read_one(path)["strike"]) == 2 * len(small_chain())
