"""Long-format files (one row per option side) through the documented column mapping."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from optvol.core.common.errors import OptvolInputError
from optvol.core.options.ingest.long_format import PRESETS, LongFormatSpec
from optvol.core.options.ingest.read import read_option_files

HISTORICAL = (
    "UnderlyingSymbol,UnderlyingPrice,Exchange,OptionSymbol,OptionExt,Type,Expiration,"
    "DataDate,Strike,Last,Bid,Ask,Volume,OpenInterest,IV,Delta,Gamma,Theta,Vega,AKA\n"
    "SPY,321.86,*,SPY200117C00320000,,call,01/17/2020,01/02/2020,320,3.1,3.05,3.1,1523,"
    "40213,0.1123,0.61,0.05,-0.12,0.21,SPY200117C00320000\n"
    "SPY,321.86,*,SPY200117P00320000,,put,01/17/2020,01/02/2020,320,1.2,1.18,1.2,,"
    "38011,0.1301,-0.39,0.05,-0.10,0.21,SPY200117P00320000\n"
)


def test_historicaloptiondata_preset(tmp_path):
    path = tmp_path / "SPY_20200102.csv"
    path.write_text(HISTORICAL)
    table, reports = read_option_files([path], PRESETS["historicaloptiondata"])
    rows = table.to_pylist()
    assert reports[0].format == "long" and reports[0].input_rows == 2
    assert [r["option_type"] for r in rows] == ["C", "P"]
    assert rows[0]["quote_date"] == dt.date(2020, 1, 2)  # US date format
    assert rows[0]["expiration"] == dt.date(2020, 1, 17)
    assert rows[0]["underlying_last"] == 321.86 and rows[0]["strike"] == 320.0
    assert (rows[1]["bid"], rows[1]["ask"]) == (1.18, 1.2)
    assert rows[0]["open_interest"] == 40213 and rows[1]["volume"] is None
    assert rows[0]["rho"] is None  # not in this vendor's file


def test_custom_mapping_with_other_spellings_delimiter_and_strike_units(tmp_path):
    path = tmp_path / "vendor.txt"
    path.write_text(
        "Date;Expiry;StrikeX1000;CP;B;A;Spot\n"
        "2021-03-01;2021-03-19;390000;Calls;4.1;4.2;389.5\n"
        "2021-03-01;2021-03-19;390000;Puts;4.5;4.6;389.5\n"
    )
    spec = LongFormatSpec(
        quote_date="Date",
        expiration="Expiry",
        strike="StrikeX1000",
        option_type="CP",
        bid="B",
        ask="A",
        underlying_last="Spot",
        call_values=("calls",),
        put_values=("puts",),
        delimiter=";",
        strike_divisor=1000,
    )
    table, _ = read_option_files([path], spec)
    assert table.column("strike").to_pylist() == [390.0, 390.0]
    assert table.column("option_type").to_pylist() == ["C", "P"]
    assert table.column("iv").null_count == 2


def test_generic_preset_reads_the_raw_column_names(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "quote_date,expiration,strike,option_type,bid,ask,underlying_price,last,bid_size,"
        "ask_size,volume,open_interest,iv,delta,gamma,vega,theta,rho\n"
        "2020-01-02,2020-01-17,320,C,3,3.1,321,3.05,10,12,5,100,0.12,0.6,0.05,0.2,-0.1,0.05\n"
    )
    table, _ = read_option_files([path], PRESETS["generic"])
    row = table.to_pylist()[0]
    assert (row["bid_size"], row["ask_size"], row["iv"]) == (10, 12, 0.12)


def test_missing_mapped_column_is_named(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "quote_date,expiration,strike,option_type,bid,ask\n2020-01-02,2020-01-17,1,C,1,2\n"
    )
    with pytest.raises(OptvolInputError, match=r"missing \['underlying_price'\]"):
        read_option_files([path], LongFormatSpec())


def test_unknown_option_type_spelling(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "quote_date,expiration,strike,option_type,bid,ask,underlying_price\n"
        "2020-01-02,2020-01-17,320,X,1,2,321\n"
    )
    with pytest.raises(OptvolInputError, match="option type 'X' is neither a call"):
        read_option_files([path], LongFormatSpec())


def test_date_not_matching_the_format(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HISTORICAL.replace("01/02/2020", "2020-01-02", 1))
    with pytest.raises(OptvolInputError, match=r"column DataDate: '2020-01-02' does not match"):
        read_option_files([path], PRESETS["historicaloptiondata"])


def test_unknown_setting_is_refused():
    with pytest.raises(ValueError, match="unknown long-format settings"):
        LongFormatSpec().with_overrides(strike_column="x")


def test_one_column_mapped_to_two_fields_is_refused():
    with pytest.raises(ValueError, match="column 'bid' is mapped to both bid and ask"):
        LongFormatSpec(ask="bid")
    with pytest.raises(ValueError, match=r"required fields \['quote_date'\] need a column name"):
        LongFormatSpec().with_overrides(quote_date="")


def test_a_single_spelling_is_one_value_not_its_letters():
    assert LongFormatSpec(call_values="Call").call_values == ("Call",)


def test_optional_columns_absent_from_the_file_are_missing_values(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        "DataDate,Expiration,Strike,Type,Bid,Ask,UnderlyingPrice\n"
        "01/02/2020,01/17/2020,320,call,3.0,3.1,321.5\n"
    )
    table, _ = read_option_files([path], PRESETS["historicaloptiondata"])
    row = table.to_pylist()[0]
    assert (row["bid"], row["ask"]) == (3.0, 3.1)
    assert row["iv"] is None and row["volume"] is None and row["last"] is None


def test_generic_layout_is_recognised_without_configuration(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "quote_date,expiration,strike,option_type,bid,ask,underlying_price\n"
        "2020-01-02,2020-01-17,320,P,1.0,1.1,321\n"
    )
    table, reports = read_option_files([path])
    assert reports[0].format == "long" and table.column("option_type").to_pylist() == ["P"]


def test_mapped_column_appearing_twice_in_the_header(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "quote_date,expiration,strike,option_type,bid,ask,underlying_price,bid\n"
        "2020-01-02,2020-01-17,320,P,1.0,1.1,321,1.05\n"
    )
    with pytest.raises(OptvolInputError, match=r"mapped columns \['bid'\] appear twice"):
        read_option_files([path])


def test_missing_call_put_value_names_the_row(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        "quote_date,expiration,strike,option_type,bid,ask,underlying_price\n"
        "2020-01-02,2020-01-17,320,P,1.0,1.1,321\n"
        "2020-01-02,2020-01-17,325,,1.0,1.1,321\n"
    )
    with pytest.raises(
        OptvolInputError, match="data row 2, column option_type: the call/put value is missing"
    ):
        read_option_files([path])


# -- option classes (roots) ----------------------------------------------------------------

# SPX (monthly, AM-settled) and SPXW (weekly, PM-settled) on a third Friday: the same
# expiration, strike and type, two contracts. Roots as OCC symbols, padded or not, and plain.
CLASSES = (
    "quotedate,expiration,strike,type,bid,ask,underlying_last,optionroot\n"
    "2018-01-02,2018-01-19,2700,call,20.0,20.6,2695.8,SPX   180119C02700000\n"
    "2018-01-02,2018-01-19,2700,call,20.4,21.0,2695.8,SPXW180119C02700000\n"
    "2018-01-02,2018-01-19,2700,put,24.0,24.6,2695.8,spx\n"
    "2018-01-02,2018-01-19,2700,put,24.2,24.9,2695.8, SPXW\n"
    "2018-01-03,2018-01-19,2700,call,21.0,21.6,2705.0,SPX180119C02700000\n"
    "2018-01-19,2018-01-19,2700,call,2.0,2.6,2702.0,SPX180119C02700000\n"
    "2018-01-19,2018-01-19,2700,call,2.2,2.8,2702.0,SPXW180119C02700000\n"
)
CLASS_SPEC = LongFormatSpec(
    quote_date="quotedate", option_type="type", underlying_last="underlying_last",
    root="optionroot", call_values=("call",), put_values=("put",),
)  # fmt: skip


def test_the_root_of_an_occ_symbol_or_a_plain_root_is_the_option_class(tmp_path):
    from optvol.core.options.ingest.clean import AM_SETTLEMENT_DAYS, clean_option_quotes

    path = tmp_path / "classes.csv"
    path.write_text(CLASSES)
    table, _ = read_option_files([path], CLASS_SPEC)
    assert table.column("root").to_pylist() == ["SPX", "SPXW", "SPX", "SPXW", "SPX", "SPX",
                                                "SPXW"]  # fmt: skip
    quotes, report = clean_option_quotes(table)
    assert report.duplicate_rows == 0  # the classes are two contracts, not a duplicate
    assert len(quotes) == 7 and list(quotes["root"].cat.categories) == ["SPX", "SPXW"]
    # AM-settled SPX stops at the open: 6.5 hours less, and settled by its last close.
    first = quotes[quotes["quote_date"] == "2018-01-02"].set_index(["root", "option_type"])
    assert first.loc[("SPX", "C"), "tau"] == pytest.approx(
        (17 - AM_SETTLEMENT_DAYS) / 365, rel=1e-6
    )
    assert first.loc[("SPXW", "C"), "tau"] == pytest.approx(17 / 365, rel=1e-6)
    last = quotes[quotes["quote_date"] == "2018-01-19"].set_index("root")
    assert bool(last.loc["SPX", "flag_expired"]) and not bool(last.loc["SPXW", "flag_expired"])


def test_roots_selects_option_classes(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    path = tmp_path / "classes.csv"
    path.write_text(CLASSES)
    table, _ = read_option_files([path], CLASS_SPEC.with_overrides(roots=["spxw"]))
    assert set(table.column("root").to_pylist()) == {"SPXW"} and table.num_rows == 3
    assert "left out {'SPX': 4}" in caplog.text
    with pytest.raises(OptvolInputError, match=r"no quote of the option classes \['NDX'\]"):
        read_option_files([path], CLASS_SPEC.with_overrides(roots=["NDX"]))
    with pytest.raises(ValueError, match="map root too"):
        LongFormatSpec(roots=("SPX",))


def test_a_file_without_roots_has_one_class(tmp_path):
    from optvol.core.options.ingest.clean import clean_option_quotes

    path = tmp_path / "SPY_20200102.csv"
    path.write_text(HISTORICAL)
    table, _ = read_option_files([path], PRESETS["historicaloptiondata"])
    assert table.column("root").null_count == table.num_rows
    quotes, _ = clean_option_quotes(table)
    assert quotes["root"].tolist() == ["", ""]


# -- the lower-case vendor layout, recognised from its header -------------------------------

VENDOR_US = (
    "\ufeffunderlying,underlying_last, exchange,optionroot,optionext,type,expiration,"
    "quotedate,strike,last,bid,ask,volume,openinterest,impliedvol,delta,gamma,theta,vega,"
    "optionalias\n"
    "SPXW,2695.79,W,SPXW180131C02700000,,call,01/31/2018,01/02/2018,2700,30.1,30.0,30.6,"
    "12,6007,0.0908,0.5,0.01,-1.2,2.9,SPXW180131C02700000\n"
    "SPXW,2695.79,W,SPXW180131P02700000,,put,01/31/2018,01/02/2018,2700,33.1,33.0,33.8,"
    "3,2,0.0911,-0.5,0.01,-1.1,2.9,SPXW180131P02700000\n"
)
VENDOR_ISO = (
    "underlying,underlying_last,optionroot,type,expiration,quotedate,strike,last,bid,ask,"
    "volume,openinterest,impliedvol,delta,gamma\n"
    "SPY,368.79,SPY210129P00345000,P,2021-01-29,2021-01-04,345.0,2.71,2.76,2.78,7424,"
    "48199,0.28804,-0.17798,0.00937\n"
)


@pytest.mark.parametrize(
    ("text", "date", "types", "root"),
    [
        (VENDOR_US, dt.date(2018, 1, 2), ["C", "P"], "SPXW"),
        (VENDOR_ISO, dt.date(2021, 1, 4), ["P"], "SPY"),
    ],
    ids=["bom_space_us_dates_call_put", "iso_dates_c_p_no_theta"],
)
def test_the_lower_case_vendor_layout_needs_no_mapping(tmp_path, text, date, types, root):
    path = tmp_path / "vendor.csv"
    path.write_text(text, encoding="utf-8")
    table, reports = read_option_files([path])
    rows = table.to_pylist()
    assert reports[0].format == "long"
    assert [r["option_type"] for r in rows] == types
    assert rows[0]["quote_date"] == date and rows[0]["root"] == root
    assert rows[0]["iv"] == pytest.approx(0.0908 if root == "SPXW" else 0.28804)
    assert rows[0]["theta"] == (-1.2 if root == "SPXW" else None)  # optional, absent


def test_a_vendor_date_in_another_format_names_the_line(tmp_path):
    path = tmp_path / "vendor.csv"
    path.write_text(VENDOR_ISO.replace("2021-01-04", "04.01.2021"))
    with pytest.raises(OptvolInputError, match=r"line 2, column quotedate: date '04.01.2021'"):
        read_option_files([path])


def test_settings_in_the_run_configs_shape_or_flat_are_one_mapping():
    from optvol.core.options.ingest.long_format import settings_spec

    flat = {"quote_date": "Date", "underlying_last": "Spot", "date_format": "%d.%m.%Y"}
    nested = {"columns": {"quote_date": "Date", "underlying_last": "Spot"},
              "date_format": "%d.%m.%Y", "delimiter": None}  # fmt: skip
    assert (
        settings_spec(nested)
        == settings_spec(flat)
        == LongFormatSpec(quote_date="Date", underlying_last="Spot", date_format="%d.%m.%Y")
    )
    assert settings_spec({"preset": "cboe_eod"}) == PRESETS["cboe_eod"]
    with pytest.raises(ValueError, match=r"\['quote_date'\] given both"):
        settings_spec({"columns": {"quote_date": "a"}, "quote_date": "b"})
    with pytest.raises(ValueError, match="two long-format presets"):
        settings_spec({"preset": "cboe_eod"}, "generic")
