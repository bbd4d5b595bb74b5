"""Market history: reading raw_market.csv and building market_features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optvol.core.common.errors import InputNotFoundError, OptvolInputError
from optvol.core.volatility.features import realized_vol
from optvol.core.volatility.market import clean_market, read_market_file
from optvol_tests.builders import market_frame, write_market


@pytest.fixture
def raw(tmp_path):
    return read_market_file(write_market(tmp_path / "raw_market.csv"))


def test_read_types_and_source(raw):
    assert str(raw["date"].dtype) == "datetime64[ns]"
    assert all(str(raw[c].dtype) == "float64" for c in ("spx_close", "vix_close", "core_cpi"))
    assert raw["source_file"].iloc[0] == "raw_market.csv" and raw["source_row"].iloc[0] == 1


def test_monthly_value_is_used_only_after_its_month_and_release_lag(raw):
    features, report = clean_market(raw, release_lag_months=1)
    assert report.macro_available_after_months == {"core_cpi": 2}
    cpi = features.set_index("date")["core_cpi"]
    # December 2014 (240) ends Dec 31 and is read a month later; January 2015 (241) from
    # March 1st. Never inside the month described, nor before its publication.
    assert cpi.loc["2015-01-01":"2015-01-30"].isna().all()
    assert (cpi.loc["2015-02-02":"2015-02-27"] == 240).all()
    assert cpi.loc["2015-03-02"] == 241


def test_release_lag_override_per_series(raw):
    features, report = clean_market(raw, release_lag_overrides={"core_cpi": 0})
    assert report.macro_available_after_months == {"core_cpi": 1}
    assert features.set_index("date")["core_cpi"].loc["2015-02-02"] == 241


def test_quarterly_series_waits_for_its_quarter(tmp_path):
    frame = market_frame(n_days=260)
    quarters = pd.DataFrame({"date": pd.date_range("2014-10-01", periods=5, freq="QS"),
                             "gdp": [1.0, 2.0, 3.0, 4.0, 5.0]})  # fmt: skip
    frame = frame.merge(quarters, on="date", how="outer").sort_values("date")
    features, report = clean_market(read_market_file(write_market(tmp_path / "m.csv", frame)))
    assert report.macro_available_after_months["gdp"] == 4  # 3-month period + 1-month lag
    gdp = features.set_index("date")["gdp"]
    assert gdp.loc["2015-04-30"] == 1.0 and gdp.loc["2015-05-01"] == 2.0  # Q1 2015 from May


def test_zero_lag_for_daily_series(tmp_path):
    frame = market_frame()
    frame["rate_10y"] = np.where(frame["spx_close"].notna(), 2.0, np.nan)
    frame.loc[frame.index[50], "rate_10y"] = 3.0
    raw = read_market_file(write_market(tmp_path / "m.csv", frame))
    features, report = clean_market(raw)
    assert report.macro_available_after_months["rate_10y"] == 0
    assert features["rate_10y"].iloc[features.index[features["rate_10y"] == 3.0][0]] == 3.0


def test_sorted_unique_dates_and_rows_without_close_dropped(tmp_path):
    frame = market_frame()
    shuffled = pd.concat([frame.iloc[::-1], frame.iloc[[5]]])  # reversed, one exact duplicate
    raw = read_market_file(write_market(tmp_path / "m.csv", shuffled))
    features, report = clean_market(raw)
    assert features["date"].is_monotonic_increasing and features["date"].is_unique
    assert report.duplicate_rows == 1
    assert report.rows_without_close == frame["spx_close"].isna().sum()
    assert features["spx_close"].notna().all()


def test_conflicting_duplicate_date_keeps_the_last_row(tmp_path):
    frame = market_frame()
    changed = frame.iloc[[10]].assign(spx_close=1.0)
    raw = read_market_file(write_market(tmp_path / "m.csv", pd.concat([frame, changed])))
    features, report = clean_market(raw)
    assert report.conflicting_duplicates == 1
    assert features.loc[features["date"] == changed["date"].iloc[0], "spx_close"].item() == 1.0


def test_rv21_and_vrp_formulas(raw):
    features, _ = clean_market(raw)
    r = np.log(features["spx_close"]).diff()
    t = 60
    expected = np.sqrt(252 / 21 * np.sum(r.iloc[t - 20 : t + 1] ** 2))
    assert features["rv_21"].iloc[t] == pytest.approx(expected)
    assert features["rv_21"].iloc[:21].isna().all() and features["rv_21"].iloc[21:].notna().all()
    vix = features["vix_close"].iloc[t] / 100
    assert features["vrp"].iloc[t] == pytest.approx(vix**2 - expected**2)
    assert features["vix_rv_ratio"].iloc[t] == pytest.approx(vix / expected)


def test_realized_vol_of_constant_returns():
    returns = pd.Series([0.01] * 30)
    assert realized_vol(returns, 21).iloc[-1] == pytest.approx(0.01 * np.sqrt(252))


def test_missing_vix_gives_missing_vrp_not_an_error(tmp_path):
    frame = market_frame()
    cutoff = frame["date"].iloc[60]
    frame.loc[frame["date"] < cutoff, "vix_close"] = np.nan
    features, report = clean_market(read_market_file(write_market(tmp_path / "m.csv", frame)))
    assert features.loc[features["date"] < cutoff, "vrp"].isna().all()
    assert features.loc[features["date"] >= cutoff, "vrp"].notna().all()
    assert report.missing_values["vix_close"] == features["vix_close"].isna().sum() > 0


def test_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError, match=str(tmp_path / "raw_market.csv")):
        read_market_file(tmp_path / "raw_market.csv")


def test_missing_required_column(tmp_path):
    path = tmp_path / "m.csv"
    market_frame().drop(columns="vix_close").to_csv(path, index=False)
    with pytest.raises(OptvolInputError, match=r"missing required columns \['vix_close'\]"):
        read_market_file(path)


def test_garbage_value_names_line_and_column(tmp_path):
    path = write_market(tmp_path / "m.csv")
    lines = path.read_text().splitlines()
    fields = lines[7].split(",")
    fields[4] = "n/a?"
    lines[7] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(OptvolInputError, match=r"line 8, column spx_close: invalid value 'n/a\?'"):
        read_market_file(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("date,spx_open,spx_high,spx_low,spx_close,vix_close\n", "no data rows"),
        (
            "date;spx_open;spx_high;spx_low;spx_close;vix_close\n2020-01-02;1;1;1;1;1\n",
            "missing required columns",
        ),
        (
            "date,spx_open,spx_high,spx_low,spx_close,vix_close\n2020-01-02,1,1,1\n",
            "line 2 has 4 fields, expected 6",
        ),
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "m.csv"
    path.write_text(content)
    with pytest.raises(OptvolInputError, match=message):
        read_market_file(path)


def test_market_archive_with_two_files(tmp_path):
    import zipfile

    path = tmp_path / "market.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", "date,spx_open,spx_high,spx_low,spx_close,vix_close\n")
        archive.writestr("b.csv", "date,spx_open,spx_high,spx_low,spx_close,vix_close\n")
    with pytest.raises(
        OptvolInputError, match=r"expected one market file, the archive holds \['market.zip:a.csv'"
    ):
        read_market_file(path)
