"""Quotes split by quote month (read_option_months) and the month scan of input files
(scan_quote_months), the ingest of the month-partitioned option assets."""

from __future__ import annotations

import datetime as dt
import gzip
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from optvol.core.common.errors import InputNotFoundError, OptvolInputError
from optvol.core.common.parquet import notes_of
from optvol.core.options.ingest.clean import clean_option_quotes
from optvol.core.options.ingest.long_format import PRESETS
from optvol.core.options.ingest.optionsdx import OPTIONSDX_HEADER
from optvol.core.options.ingest.read import read_option_files, read_option_months, scan_quote_months
from optvol.core.options.ingest.schema import RAW_OPTION_SCHEMA
from optvol_tests.builders import optionsdx_row, small_chain, write_optionsdx

# Out of order, and across three months; small_chain gives 6 rows per date.
UNSORTED_DATES = ("2020-02-03", "2020-01-02", "2020-03-02", "2020-01-31", "2020-02-28")
SOURCE_NOTE_FIELDS = {
    "label", "format", "input_rows", "quote_rows", "compressed_bytes", "origin", "description",
}  # fmt: skip


def month_of(day: dt.date) -> str:
    return day.strftime("%Y-%m")


def gzipped(source: Path, target: Path) -> Path:
    target.write_bytes(gzip.compress(source.read_bytes()))
    return target


@pytest.fixture
def unsorted_chain(tmp_path, monkeypatch) -> Path:
    import optvol.core.common.csv_stream as csv_stream

    monkeypatch.setattr(csv_stream, "BLOCK_SIZE", 1024)  # blocks that straddle months
    return write_optionsdx(tmp_path / "chain.csv", small_chain(dates=UNSORTED_DATES))


def test_months_split_with_unsorted_dates_in_read_order(unsorted_chain):
    tables, reports = read_option_months([unsorted_chain])
    assert list(tables) == ["2020-01", "2020-02", "2020-03"]
    per_date = 2 * 6  # call and put of 2 expiries x 3 strikes
    assert {m: t.num_rows for m, t in tables.items()} == {
        "2020-01": 2 * per_date,
        "2020-02": 2 * per_date,
        "2020-03": per_date,
    }
    for month, table in tables.items():
        assert table.schema.remove_metadata() == RAW_OPTION_SCHEMA
        assert {month_of(d) for d in table.column("quote_date").to_pylist()} == {month}
        calls = table.filter(pa.compute.equal(table["option_type"], "C"))
        rows = calls.column("source_row").to_pylist()
        assert rows == sorted(rows)  # the file's order within the month
    # Every input row lands in exactly one month, call and put.
    all_rows = pd.concat(
        [t.select(["source_row", "option_type"]).to_pandas() for t in tables.values()]
    )
    assert not all_rows.duplicated().any()
    assert len(all_rows) == reports[0].quote_rows == 2 * 6 * len(UNSORTED_DATES)
    assert reports[0].input_rows == 6 * len(UNSORTED_DATES)


def test_two_files_feed_one_month_and_the_notes_say_what_each_gave(tmp_path):
    january_february = write_optionsdx(
        tmp_path / "src" / "a.csv", small_chain(dates=("2020-01-30", "2020-02-03"))
    )
    february = gzipped(
        write_optionsdx(tmp_path / "src" / "b.csv", small_chain(dates=("2020-02-04",))),
        tmp_path / "b.csv.gz",
    )
    tables, reports = read_option_months([january_february, february])
    assert [r.label for r in reports] == ["a.csv", "b.csv.gz"]
    assert set(tables["2020-02"].column("source_file").to_pylist()) == {"a.csv", "b.csv.gz"}
    january = notes_of(tables["2020-01"])["sources"]
    assert [s["label"] for s in january] == ["a.csv"]
    assert january[0]["input_rows"] == 6 and january[0]["quote_rows"] == 12
    february_sources = notes_of(tables["2020-02"])["sources"]
    assert [(s["label"], s["input_rows"], s["quote_rows"]) for s in february_sources] == [
        ("a.csv", 6, 12),
        ("b.csv.gz", 6, 12),
    ]
    for note in january + february_sources:
        assert set(note) == SOURCE_NOTE_FIELDS
        assert note["origin"] == "supplied" and note["format"] == "optionsdx"
    assert february_sources[1]["compressed_bytes"] == february.stat().st_size


def test_months_filter_drops_the_other_months_and_names_are_checked(unsorted_chain):
    tables, reports = read_option_months([unsorted_chain], months=["2020-03", "2020-07"])
    assert list(tables) == ["2020-03"]  # 2020-07 has no rows: absent
    assert {month_of(d) for d in tables["2020-03"].column("quote_date").to_pylist()} == {"2020-03"}
    (note,) = notes_of(tables["2020-03"])["sources"]
    assert note["quote_rows"] == tables["2020-03"].num_rows == 12
    assert reports[0].quote_rows == 2 * 6 * len(UNSORTED_DATES)  # the whole file was read
    assert read_option_months([unsorted_chain], months=[]) == ({}, reports)
    for bad in (["2020-1"], ["2020-13"], "2020-01", [202001]):
        with pytest.raises(ValueError, match="'YYYY-MM'"):
            read_option_months([unsorted_chain], months=bad)


def test_read_option_files_is_the_months_one_after_the_other(unsorted_chain, tmp_path):
    other = write_optionsdx(tmp_path / "other.txt", small_chain(dates=("2020-01-06",)))
    table, reports = read_option_files([unsorted_chain, other])
    tables, month_reports = read_option_months([unsorted_chain, other])
    assert reports == month_reports
    together = pa.concat_tables(tables.values())
    assert table.replace_schema_metadata(None).equals(together.replace_schema_metadata(None))
    sources = notes_of(table)["sources"]
    assert [(s["label"], s["input_rows"]) for s in sources] == [
        ("chain.csv", 6 * len(UNSORTED_DATES)),
        ("other.txt", 6),
    ]


def test_cleaning_month_by_month_equals_cleaning_everything(tmp_path):
    rows = small_chain(dates=UNSORTED_DATES)
    rows[0].update(C_BID="0.000000")
    rows[7].update(STRIKE="")  # an invalid key
    rows[12].update(P_BID="3.000000", P_ASK="2.000000")
    first = write_optionsdx(tmp_path / "a.csv", rows)
    # A later file repeats quotes of two months, one with another bid: duplicates.
    later = write_optionsdx(tmp_path / "b.csv", [rows[3] | {"C_BID": "9.000000"}, rows[20]])
    whole, whole_report = clean_option_quotes(read_option_files([first, later])[0])
    parts = [clean_option_quotes(t) for t in read_option_months([first, later])[0].values()]
    by_month = pd.concat([frame for frame, _ in parts], ignore_index=True)
    by_month["source_file"] = by_month["source_file"].astype(whole["source_file"].dtype)
    pd.testing.assert_frame_equal(by_month, whole)
    for count in ("rows_in", "rows_invalid_key", "duplicate_rows", "conflicting_duplicates",
                  "rows_out", "usable_rows"):  # fmt: skip
        assert sum(getattr(r, count) for _, r in parts) == getattr(whole_report, count), count
    assert whole_report.duplicate_rows == 4 and whole_report.conflicting_duplicates == 1


def test_compressed_and_zipped_inputs(tmp_path):
    plain = write_optionsdx(tmp_path / "src" / "jan.txt", small_chain(dates=("2020-01-02",)))
    archive = tmp_path / "spy.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(plain, "spy_202001.txt")
        zf.write(
            write_optionsdx(tmp_path / "src" / "mar.csv", small_chain(dates=("2020-03-02",))),
            "more/spy_202003.csv",
        )
    gz = gzipped(
        write_optionsdx(tmp_path / "src" / "feb.csv", small_chain(dates=("2020-02-03",))),
        tmp_path / "spy_202002.csv.gz",
    )
    tables, _ = read_option_months([archive, gz])
    labels = {m: set(t.column("source_file").to_pylist()) for m, t in tables.items()}
    assert labels == {
        "2020-01": {"spy.zip:spy_202001.txt"},
        "2020-02": {"spy_202002.csv.gz"},
        "2020-03": {"spy.zip:more/spy_202003.csv"},
    }
    assert scan_quote_months([archive, gz]) == {
        "spy.zip:more/spy_202003.csv": ["2020-03"],
        "spy.zip:spy_202001.txt": ["2020-01"],
        "spy_202002.csv.gz": ["2020-02"],
    }


def test_scan_lists_the_months_of_each_file_as_the_ingest_splits_them(unsorted_chain, tmp_path):
    other = write_optionsdx(tmp_path / "other.txt", small_chain(dates=("2021-12-31",)))
    found = scan_quote_months([unsorted_chain, other])
    assert found == {"chain.csv": ["2020-01", "2020-02", "2020-03"], "other.txt": ["2021-12"]}
    assert sorted(m for months in found.values() for m in months) == list(
        read_option_months([unsorted_chain, other])[0]
    )


def test_scan_of_a_long_format_file(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "DataDate,Expiration,Strike,Type,Bid,Ask,UnderlyingPrice\n"
        "02/03/2020,03/20/2020,320,call,3.0,3.1,321.5\n"
        "12/31/2019,01/17/2020,320,put,3.0,3.1,321.5\n"
    )
    assert scan_quote_months([path], PRESETS["historicaloptiondata"]) == {
        "h.csv": ["2019-12", "2020-02"]
    }
    generic = tmp_path / "g.csv"
    generic.write_text(
        "quote_date,expiration,strike,option_type,bid,ask,underlying_price\n"
        "2020-05-04,2020-05-15,320,P,1.0,1.1,321\n"
    )
    assert scan_quote_months([generic]) == {"g.csv": ["2020-05"]}
    assert list(read_option_months([generic])[0]) == ["2020-05"]


def _truncated(tmp_path: Path) -> Path:
    path = write_optionsdx(tmp_path / "cut.csv", small_chain())
    text = path.read_text()
    path.write_text(text[: len(text) - 150])
    return path


def _truncated_gzip(tmp_path: Path) -> Path:
    data = gzip.compress(write_optionsdx(tmp_path / "a.csv", small_chain() * 20).read_bytes())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _write(name: str, text: str):
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return make


def _rows(name: str, **overrides):
    def make(tmp_path: Path) -> Path:
        return write_optionsdx(tmp_path / name, [optionsdx_row(), optionsdx_row(**overrides)])

    return make


BAD_INPUTS = {
    "missing": (lambda tmp_path: tmp_path / "nope.csv", InputNotFoundError, "nope.csv"),
    "empty": (_write("empty.csv", ""), OptvolInputError, "empty.csv: the file is empty"),
    "header only": (
        _write("header.csv", OPTIONSDX_HEADER + "\n"),
        OptvolInputError,
        "header.csv: the file has a header but no data rows",
    ),
    "truncated last line": (
        _truncated,
        OptvolInputError,
        r"cut.csv: line 25 has \d+ fields, expected 33",
    ),
    "wrong columns": (
        _write("other.csv", "a,b,c\n1,2,3\n"),
        OptvolInputError,
        "other.csv: unrecognised header.*Expected the optionsDX header",
    ),
    "garbage quote date": (
        _rows("bad.csv", QUOTE_DATE="2020-13-45"),
        OptvolInputError,
        r"bad.csv: line 3, column QUOTE_DATE: invalid value '2020-13-45'",
    ),
    "missing quote date": (
        _rows("nodate.csv", QUOTE_DATE=""),
        OptvolInputError,
        "nodate.csv: data row 2: the quote date is missing, so the quote belongs to no month",
    ),
    "truncated gzip": (
        _truncated_gzip,
        OptvolInputError,
        "cut.csv.gz: the compressed file is truncated or corrupt",
    ),
}
READERS = {
    "read_option_months": read_option_months,
    "read_option_months one month": lambda paths: read_option_months(paths, months=["2020-01"]),
    "read_option_files": read_option_files,
    "scan_quote_months": scan_quote_months,
}


@pytest.mark.parametrize("reader", list(READERS))
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_the_same_clear_error_from_every_reader(tmp_path, case, reader):
    make, error, message = BAD_INPUTS[case]
    good = write_optionsdx(tmp_path / "good.csv", small_chain())
    with pytest.raises(error, match=message):
        READERS[reader]([good, make(tmp_path)])


def test_a_garbage_long_format_date_is_named_by_the_scan_too(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "DataDate,Expiration,Strike,Type,Bid,Ask,UnderlyingPrice\n"
        "2020-02-03,03/20/2020,320,call,3.0,3.1,321.5\n"
    )
    for reader in (read_option_months, scan_quote_months):
        with pytest.raises(OptvolInputError, match=r"column DataDate: '2020-02-03' does not match"):
            reader([path], PRESETS["historicaloptiondata"])
