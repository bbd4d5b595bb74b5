"""Cleaning raw quotes into option_quotes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.options.ingest.clean import FLAG_COLUMNS, OPTION_QUOTES_DTYPES, clean_option_quotes
from optvol.core.options.ingest.read import read_option_files
from optvol.core.options.validation import check_option_quote_values
from optvol_tests.builders import optionsdx_row, small_chain, write_optionsdx


@pytest.fixture
def raw(tmp_path):
    rows = small_chain()
    rows[0].update(C_BID="0.000000", C_ASK="0.050000")  # bid <= 0
    rows[1].update(P_BID="2.500000", P_ASK="2.400000")  # crossed
    rows[2].update(C_BID="1.000000", C_ASK="1.000000")  # zero width
    rows[3].update(P_BID="", P_ASK="")  # no quote
    table, _ = read_option_files([write_optionsdx(tmp_path / "a.csv", rows)])
    return table


def test_dtypes_and_one_row_per_key(raw):
    frame, report = clean_option_quotes(raw)
    assert {c: str(t) for c, t in frame.dtypes.items()} == OPTION_QUOTES_DTYPES
    assert report.rows_in == report.rows_out == len(frame) == raw.num_rows
    assert not frame.duplicated(["quote_date", "expiration", "strike", "option_type"]).any()
    assert check_option_quote_values(frame).passed


def test_derived_columns(raw):
    frame, _ = clean_option_quotes(raw)
    row = frame.iloc[-1]
    assert row["mid"] == pytest.approx((row["bid"] + row["ask"]) / 2)
    assert row["spread"] == pytest.approx(row["ask"] - row["bid"])
    assert row["dte_days"] == (row["expiration"] - row["quote_date"]).days
    assert row["tau"] == pytest.approx(row["dte_days"] / 365, rel=1e-6)
    assert row["moneyness"] == pytest.approx(row["strike"] / row["underlying_last"], rel=1e-6)


def test_flags_for_unusable_quotes(raw):
    frame, report = clean_option_quotes(raw)
    assert report.flags == {
        "flag_missing_quote": 1,
        "flag_bad_price": 0,
        "flag_nonpositive_bid": 1,
        "flag_crossed": 1,
        "flag_zero_width": 1,
        "flag_expired": 0,
        "flag_bad_underlying": 0,
    }
    assert report.usable_rows == len(frame) - 4
    assert (frame["usable"] == ~frame[list(FLAG_COLUMNS)].any(axis=1)).all()


@pytest.mark.parametrize(("bid", "ask"), [("-0.050000", "0.100000"), ("0.050000", "-0.100000")])
def test_a_negative_bid_or_ask_is_a_bad_price(tmp_path, bid, ask):
    rows = small_chain()
    rows[0].update(C_BID=bid, C_ASK=ask)
    raw, _ = read_option_files([write_optionsdx(tmp_path / "a.csv", rows)])
    frame, report = clean_option_quotes(raw)
    assert report.flags["flag_bad_price"] == 1
    negative = frame[(frame["bid"] < 0) | (frame["ask"] < 0)]
    assert len(negative) == 1 and negative["flag_bad_price"].all()
    assert not negative["usable"].any()


def test_an_infinite_value_on_a_usable_row_fails_the_values_check(raw):
    frame = clean_option_quotes(raw)[0].copy(deep=True)
    row = frame.index[frame["usable"]][0]
    frame.loc[row, "iv"] = np.inf
    outcome = check_option_quote_values(frame)
    assert not outcome.passed
    assert "'infinite iv on usable rows': 1" in outcome.description
    # on a flagged row the value is kept for inspection, as the flags say why
    frame.loc[row, "iv"] = 0.2
    frame.loc[frame.index[~frame["usable"]][0], "iv"] = np.inf
    assert check_option_quote_values(frame).passed


def test_duplicates_removed_and_counted_keeping_the_last_read(tmp_path):
    first = write_optionsdx(tmp_path / "a.csv", [optionsdx_row(), optionsdx_row()])
    later = write_optionsdx(tmp_path / "b.csv", [optionsdx_row(C_BID="7.410000")])
    raw, _ = read_option_files([first, later])
    frame, report = clean_option_quotes(raw)
    assert len(frame) == 2
    assert report.duplicate_rows == 4
    assert report.conflicting_duplicates == 1  # the call's bid differs in b.csv
    call = frame[frame["option_type"] == "C"].iloc[0]
    assert call["bid"] == 7.41 and call["source_file"] == "b.csv"


def test_float32_columns_keep_the_six_printed_decimals(demo_sample):
    """float32 loses nothing a vendor prints: every IV, greek, volume and size of the demo
    sample reads back to the printed six decimals where its magnitude is below 8 (24 bits
    of mantissa), and to float32's 7 significant digits above (a theta of -18.158376 reads
    back as -18.15838)."""
    raw, _ = read_option_files([demo_sample["options"]])
    frame, _ = clean_option_quotes(raw)
    expected = raw.to_pandas().set_index(["source_row", "option_type"])
    cleaned = frame.set_index(["source_row", "option_type"]).loc[expected.index]
    for column in (
        "iv",
        "delta",
        "gamma",
        "vega",
        "theta",
        "rho",
        "volume",
        "bid_size",
        "ask_size",
    ):
        printed = expected[column].to_numpy(dtype=float)
        stored = cleaned[column].to_numpy(dtype=float)
        present = ~np.isnan(printed)
        assert present.any(), column
        small = present & (np.abs(printed) < 8)
        assert np.array_equal(np.round(stored[small], 6), np.round(printed[small], 6)), column
        error = np.abs(stored[present] - printed[present])
        assert np.all(error <= 2.0**-24 * np.abs(printed[present])), column
        assert np.array_equal(np.isnan(stored), ~present), column


def test_sorted_by_key(raw):
    frame, _ = clean_option_quotes(raw)
    keys = ["quote_date", "expiration", "strike", "option_type"]
    pd.testing.assert_frame_equal(frame, frame.sort_values(keys, kind="stable"))


def test_logs_each_step(raw, caplog):
    caplog.set_level("INFO", logger="optvol")
    clean_option_quotes(raw)
    text = caplog.text
    for step in (
        "Memory optimization complete",
        "duplicate quotes",
        "without a valid key",
        "Flagged unusable quotes",
        "rows out of",
    ):
        assert step in text


def test_rows_without_a_valid_key_are_dropped_and_counted(tmp_path):
    rows = small_chain()
    rows[0]["STRIKE"] = ""
    rows[1]["EXPIRE_DATE"] = ""
    raw, _ = read_option_files([write_optionsdx(tmp_path / "a.csv", rows)])
    frame, report = clean_option_quotes(raw)
    assert report.rows_invalid_key == 4  # two optionsDX rows, call and put each
    assert len(frame) == raw.num_rows - 4
    assert frame[["quote_date", "expiration", "strike", "option_type"]].notna().all().all()


def test_pandas_input_gives_the_same_table(raw):
    from_arrow, _ = clean_option_quotes(raw)
    from_pandas, _ = clean_option_quotes(raw.to_pandas())
    pd.testing.assert_frame_equal(from_arrow, from_pandas)


def test_empty_input(raw):
    frame, report = clean_option_quotes(raw.slice(0, 0))
    assert len(frame) == 0 and report.usable_rows == 0
    assert {c: str(t) for c, t in frame.dtypes.items()} == OPTION_QUOTES_DTYPES
