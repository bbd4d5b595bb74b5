"""Building raw_market.csv from Yahoo OHLC, CBOE VIX and FRED files."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from optvol.core.common.errors import InputNotFoundError, OptvolInputError
from optvol.core.volatility.market import clean_market, read_market_file
from optvol.core.volatility.market_import import (
    build_raw_market,
    read_cboe_vix,
    read_fred,
    read_yahoo_ohlc,
    write_raw_market,
)

YAHOO = (
    "Date,Open,High,Low,Close,Adj Close,Volume\n"
    "2020-01-02,3244.67,3258.14,3235.53,3257.85,3257.85,3458250000\n"
    "2020-01-03,3226.36,3246.15,3222.34,3234.85,3234.85,3461290000\n"
    "2020-01-06,3217.55,3246.84,3214.64,3246.28,3246.28,3674070000\n"
)
SPX_COLUMNS = ["date", "spx_open", "spx_high", "spx_low", "spx_close"]


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def dates(frame: pd.DataFrame) -> list[str]:
    return [d.strftime("%Y-%m-%d") for d in frame["date"]]


def test_yahoo_standard_file(tmp_path):
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", YAHOO))
    assert list(spx.columns) == SPX_COLUMNS
    assert dates(spx) == ["2020-01-02", "2020-01-03", "2020-01-06"]
    assert spx["spx_open"].tolist() == [3244.67, 3226.36, 3217.55]
    assert spx["spx_close"].tolist() == [3257.85, 3234.85, 3246.28]
    assert str(spx["date"].dtype) == "datetime64[ns]"


@pytest.mark.parametrize(
    "header",
    [
        "date,open,high,low,close,adj_close,volume",
        "DATE,OPEN,HIGH,LOW,CLOSE,ADJ_CLOSE,VOLUME",
        " Date , Open , High , Low , Close , Adj_Close , Volume ",
        "Date,Open,High,Low,Close,adjclose,Volume",
    ],
)
def test_yahoo_header_spellings(tmp_path, header):
    text = header + "\n" + YAHOO.split("\n", 1)[1]
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", text))
    assert spx["spx_close"].tolist() == [3257.85, 3234.85, 3246.28]


def test_yahoo_bom_reordered_columns_without_volume_uses_close_not_adj_close(tmp_path):
    text = "\ufeffClose,Adj Close,Date,Low,High,Open\n5.0,4.5,2020-01-02,4.0,6.0,4.8\n"
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", text))
    assert spx.iloc[0].tolist() == [pd.Timestamp("2020-01-02"), 4.8, 6.0, 4.0, 5.0]


def test_yahoo_us_dates(tmp_path):
    text = "Date,Open,High,Low,Close\n01/02/2020,1,2,1,2\n1/3/2020,2,3,2,3\n12/31/2020,3,4,3,4\n"
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", text))
    assert dates(spx) == ["2020-01-02", "2020-01-03", "2020-12-31"]


def test_yfinance_datetime_with_offset_keeps_the_calendar_date(tmp_path):
    text = (
        "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits\n"
        "2020-01-02 00:00:00-05:00,1,2,1,2,100,0.0,0.0\n"
        "2020-01-03 00:00:00-05:00,2,3,2,3,100,0.0,0.0\n"
    )
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", text))
    assert dates(spx) == ["2020-01-02", "2020-01-03"]


def test_yfinance_multi_level_header(tmp_path):
    text = (
        "Price,Close,High,Low,Open,Volume\n"
        "Ticker,^GSPC,^GSPC,^GSPC,^GSPC,^GSPC\n"
        "Date,,,,,\n"
        "2020-01-02,3257.85,3258.14,3235.53,3244.67,3458250000\n"
    )
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", text))
    assert spx.iloc[0].tolist() == [pd.Timestamp("2020-01-02"), 3244.67, 3258.14, 3235.53, 3257.85]


def test_yahoo_null_rows_are_dropped_and_counted(tmp_path, caplog):
    text = YAHOO + "2020-01-07,null,null,null,null,null,null\n2020-01-08,NaN,.,,3253.05,,\n"
    with caplog.at_level(logging.INFO):
        spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", text))
    assert dates(spx)[-1] == "2020-01-08" and len(spx) == 4
    assert spx.iloc[-1, 1:4].isna().all() and spx["spx_close"].iloc[-1] == 3253.05
    assert "4 rows, 2020-01-02 to 2020-01-08; dropped 1 rows without a price" in caplog.text


def test_yahoo_exact_duplicate_rows_are_dropped(tmp_path):
    text = YAHOO + YAHOO.splitlines()[1] + "\n"
    assert len(read_yahoo_ohlc(write(tmp_path, "spx.csv", text))) == 3


def test_gzip_input(tmp_path):
    path = tmp_path / "spx.csv.gz"
    path.write_bytes(gzip.compress(YAHOO.encode()))
    assert read_yahoo_ohlc(path)["spx_close"].iloc[0] == 3257.85


CBOE = "DATE,OPEN,HIGH,LOW,CLOSE\n01/02/1990,17.24,17.24,17.24,17.24\n01/03/1990,18.19,18.19,18.19,18.19\n"


def test_cboe_vix(tmp_path):
    vix = read_cboe_vix(write(tmp_path, "VIX_History.csv", CBOE))
    assert list(vix.columns) == ["date", "vix_close"]
    assert dates(vix) == ["1990-01-02", "1990-01-03"]
    assert vix["vix_close"].tolist() == [17.24, 18.19]


def test_cboe_vix_with_preamble_and_lowercase_header(tmp_path):
    text = (
        '"The data contained herein is provided for information only, without warranty"\n'
        ",,,,\n"
        "date,vix open,vix high,vix low,vix close\n"
        "1/2/2004,17.96,18.68,17.54,18.22\n"
    )
    vix = read_cboe_vix(write(tmp_path, "vixcurrent.csv", text))
    assert dates(vix) == ["2004-01-02"] and vix["vix_close"].tolist() == [18.22]


def test_cboe_vix_iso_dates(tmp_path):
    text = "date,open,high,low,close\n2020-01-02,13.46,13.72,12.42,12.47\n"
    assert read_cboe_vix(write(tmp_path, "vix.csv", text))["vix_close"].tolist() == [12.47]


@pytest.mark.parametrize("date_header", ["observation_date", "DATE"])
def test_fred_header_styles_and_missing_values(tmp_path, date_header):
    text = f"{date_header},DGS10\n2020-01-01,.\n2020-01-02,1.88\n2020-01-03,\n2020-01-06,1.81\n"
    fred = read_fred(write(tmp_path, "DGS10.csv", text))
    assert list(fred.columns) == ["date", "dgs10"]
    assert dates(fred) == ["2020-01-02", "2020-01-06"]
    assert fred["dgs10"].tolist() == [1.88, 1.81]


def test_fred_several_series_keep_partial_rows(tmp_path):
    text = "observation_date,AAA,BAA\n2020-01-01,2.94,3.77\n2020-02-01,.,3.61\n"
    fred = read_fred(write(tmp_path, "yields.csv", text))
    assert list(fred.columns) == ["date", "aaa", "baa"]
    assert fred["baa"].tolist() == [3.77, 3.61] and np.isnan(fred["aaa"].iloc[1])


def test_fred_rename(tmp_path):
    text = "observation_date,CPILFESL\n2020-01-01,265.1\n"
    fred = read_fred(write(tmp_path, "CPILFESL.csv", text), name="core_cpi")
    assert list(fred.columns) == ["date", "core_cpi"] and fred["core_cpi"].tolist() == [265.1]


def test_fred_rename_refused_for_several_series(tmp_path):
    text = "observation_date,AAA,BAA\n2020-01-01,2.94,3.77\n"
    with pytest.raises(OptvolInputError, match=r"yields.csv: a name is given.*'AAA', 'BAA'"):
        read_fred(write(tmp_path, "yields.csv", text), name="aaa")


@pytest.mark.parametrize("name", ["spx_close", "vix_close", "vrp", "date", "10y"])
def test_fred_name_collision_or_invalid(tmp_path, name):
    text = "observation_date,X\n2020-01-01,1\n"
    with pytest.raises(OptvolInputError, match=rf"x.csv: macro column name '{name}'"):
        read_fred(write(tmp_path, "x.csv", text), name=name)


def test_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError, match="nowhere.csv"):
        read_yahoo_ohlc(tmp_path / "nowhere.csv")


@pytest.mark.parametrize("reader", [read_yahoo_ohlc, read_cboe_vix, read_fred])
def test_empty_file(tmp_path, reader):
    with pytest.raises(OptvolInputError, match="e.csv: the file is empty"):
        reader(write(tmp_path, "e.csv", "\n\n"))


HEADER = "Date,Open,High,Low,Close\n"
BAD_INPUTS = {
    "header only": (read_yahoo_ohlc, HEADER, r"the file has a header \(line 1\) but no data"),
    "wrong columns": (
        read_yahoo_ohlc,
        "Date,Price,Volume\n2020-01-02,1,2\n",
        r"line 1: no header .*found columns \['Date', 'Price', 'Volume'\]",
    ),
    "missing OHLC column": (
        read_yahoo_ohlc,
        "Date,Open,Close\n2020-01-02,1,2\n",
        r"missing columns \['high', 'low'\]; found columns \['Date', 'Open', 'Close'\]",
    ),
    "garbage number": (
        read_yahoo_ohlc,
        YAHOO.replace("3226.36", "abc", 1),
        r"line 3: column 'Open': value 'abc' is not a number",
    ),
    "infinite number": (
        read_fred,
        "DATE,X\n2020-01-01,1\n2020-02-01,inf\n",
        r"line 3: column 'X': value 'inf' is not a number",
    ),
    "zero price": (
        read_yahoo_ohlc,
        YAHOO.replace("3234.85,3234.85", "0,0", 1),
        r"line 3: column 'Close': value '0' is not a positive price",
    ),
    "short row": (read_yahoo_ohlc, YAHOO + "2020-01-07,1,2\n", r"line 5: expected 7 fields"),
    "unknown date format": (
        read_yahoo_ohlc,
        HEADER + "2020/01/03,1,2,1,2\n",
        r"line 2: cannot read date '2020/01/03' \(YYYY-MM-DD or MM/DD/YYYY\)",
    ),
    "day-first date": (
        read_yahoo_ohlc,
        HEADER + "01/02/2020,1,2,1,2\n13/01/2020,1,2,1,2\n",
        r"line 3: cannot read date '13/01/2020' \(MM/DD/YYYY; month above 12\)",
    ),
    "impossible date": (
        read_cboe_vix,
        "DATE,CLOSE\n02/30/2020,12\n",
        r"line 2: cannot read date '02/30/2020' \(MM/DD/YYYY; not a calendar date\)",
    ),
    "mixed date formats": (
        read_yahoo_ohlc,
        YAHOO + "01/07/2020,1,2,1,2,2,5\n",
        r"line 5: cannot read date '01/07/2020' \(YYYY-MM-DD like line 2\)",
    ),
    "conflicting duplicate date": (
        read_cboe_vix,
        CBOE + "01/03/1990,18.19,18.19,18.19,18.50\n",
        r"date 1990-01-03 appears more than once with different values \(lines 3, 4\)",
    ),
}


@pytest.mark.parametrize(("reader", "text", "message"), BAD_INPUTS.values(), ids=BAD_INPUTS)
def test_bad_input_names_file_line_column_and_value(tmp_path, reader, text, message):
    with pytest.raises(OptvolInputError, match=r"^bad.csv: " + message):
        reader(write(tmp_path, "bad.csv", text))


def test_build_refuses_a_macro_name_given_twice(tmp_path):
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", YAHOO))
    one = read_fred(write(tmp_path, "a.csv", "DATE,DGS10\n2020-01-02,1.88\n"))
    two = read_fred(write(tmp_path, "b.csv", "observation_date,DGS10\n2020-01-02,1.88\n"))
    with pytest.raises(OptvolInputError, match="b.csv: macro series 'dgs10' is given twice"):
        build_raw_market(spx, None, [one, two])


def test_build_refuses_conflicting_dates_in_a_frame():
    spx = pd.DataFrame({"date": ["2020-01-02", "2020-01-02"], "spx_open": [1.0, 1.0],
                        "spx_high": [2.0, 2.0], "spx_low": [1.0, 1.0], "spx_close": [2.0, 1.5]})  # fmt: skip
    with pytest.raises(OptvolInputError, match="S&P 500 input: date 2020-01-02 appears more"):
        build_raw_market(spx)


def test_build_without_vix_has_an_empty_vix_column(tmp_path):
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", YAHOO))
    raw = build_raw_market(spx)
    assert list(raw.columns) == [*SPX_COLUMNS, "vix_close"]
    assert raw["vix_close"].isna().all() and raw["date"].tolist()[0] == "2020-01-02"


def market_inputs(tmp_path):
    """Three months of S&P 500 and VIX on business days, daily and monthly FRED series."""
    days = pd.bdate_range("2020-01-02", "2020-03-31")
    close = 3000.0 + np.arange(len(days))
    spx = pd.DataFrame({"Date": days.strftime("%Y-%m-%d"), "Open": close - 1, "High": close + 5,
                        "Low": close - 5, "Close": close, "Adj Close": close})  # fmt: skip
    spx.to_csv(tmp_path / "spx.csv", index=False)
    vix = pd.DataFrame({"DATE": days.strftime("%m/%d/%Y"), "OPEN": 1.0, "HIGH": 1.0,
                        "LOW": 1.0, "CLOSE": 10.0 + np.arange(len(days)) / 100})  # fmt: skip
    vix.to_csv(tmp_path / "vix.csv", index=False)
    write(tmp_path, "DGS10.csv", "observation_date,DGS10\n2020-01-02,1.88\n2020-01-03,.\n"
          "2020-01-06,1.81\n2020-02-03,1.54\n")  # fmt: skip
    write(tmp_path, "CPI.csv", "DATE,CPILFESL\n2019-10-01,263.4\n2019-11-01,263.9\n"
          "2019-12-01,264.4\n2020-01-01,265.1\n")  # fmt: skip
    return days, close


def test_round_trip_build_write_read_clean(tmp_path):
    days, close = market_inputs(tmp_path)
    raw = build_raw_market(
        read_yahoo_ohlc(tmp_path / "spx.csv"),
        read_cboe_vix(tmp_path / "vix.csv"),
        [read_fred(tmp_path / "DGS10.csv"), read_fred(tmp_path / "CPI.csv", "core_cpi")],
    )
    out = write_raw_market(raw, tmp_path / "raw" / "raw_market.csv")
    text = out.read_text()
    assert (
        text.splitlines()[0] == "date,spx_open,spx_high,spx_low,spx_close,vix_close,dgs10,core_cpi"
    )
    assert text.splitlines()[1] == "2019-10-01,,,,,,,263.4"  # macro-only date kept
    assert "2020-01-02,2999.0,3005.0,2995.0,3000.0,10.0,1.88,\n" in text

    loaded = read_market_file(out)
    assert len(loaded) == len(days) + 4  # CPI dates 2019-10-01 .. 2020-01-01 are macro-only
    features, report = clean_market(loaded)
    assert report.rows_out == len(days)
    by_date = features.set_index("date")
    assert by_date.loc["2020-01-06", "vix_close"] == 10.02
    assert by_date.loc["2020-03-31", "spx_close"] == close[-1]
    assert by_date.loc["2020-01-06", "dgs10"] == 1.81  # daily: as of its own date
    assert by_date.loc["2020-01-31", "dgs10"] == 1.81 and by_date.loc["2020-02-03", "dgs10"] == 1.54
    # Monthly CPI: December's value from February 1st, January's from March 1st.
    assert by_date.loc["2020-01-31", "core_cpi"] == 263.9
    assert by_date.loc["2020-02-03", "core_cpi"] == 264.4
    assert by_date.loc["2020-03-02", "core_cpi"] == 265.1


def test_write_numbers_without_float_noise(tmp_path):
    frame = pd.DataFrame({"date": ["2020-01-02"], "spx_close": [0.1 + 0.2], "x": [3257.85]})
    text = write_raw_market(frame, tmp_path / "m.csv").read_text()
    assert text == "date,spx_close,x\n2020-01-02,0.30000000000000004,3257.85\n"
    assert float(text.split(",")[-2]) == 0.1 + 0.2


def test_existing_output_is_left_untouched_without_force(tmp_path):
    spx = read_yahoo_ohlc(write(tmp_path, "spx.csv", YAHOO))
    out = tmp_path / "raw_market.csv"
    out.write_bytes(b"previous content\n")
    with pytest.raises(OptvolInputError, match="raw_market.csv already exists; use --force"):
        write_raw_market(build_raw_market(spx), out)
    assert out.read_bytes() == b"previous content\n"
    write_raw_market(build_raw_market(spx), out, force=True)
    assert out.read_text().startswith("date,spx_open")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_yahoo_zero_open_high_low_are_missing_and_a_negative_one_is_refused(tmp_path, caplog):
    old = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n"
        "1975-01-02,0,0,0,70.23,70.23,14800000\n"
        "1975-01-03,0,71.0,0,70.71,70.71,15270000\n"
    )
    with caplog.at_level(logging.INFO):
        spx = read_yahoo_ohlc(write(tmp_path, "old.csv", old))
    assert spx["spx_close"].tolist() == [70.23, 70.71]
    assert spx["spx_open"].isna().all() and spx["spx_low"].isna().all()
    assert spx["spx_high"].iloc[0] != spx["spx_high"].iloc[0] and spx["spx_high"].iloc[1] == 71.0
    assert "2 rows with Open = 0" in caplog.text
    negative = old.replace("0,71.0,0,70.71", "0,-71.0,0,70.71")
    with pytest.raises(
        OptvolInputError, match=r"line 3: column 'High': value '-71.0' is not a positive price"
    ):
        read_yahoo_ohlc(write(tmp_path, "neg.csv", negative))
