"""Tests for the data summaries (optvol.core.*data_summary) and the distribution charts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from optvol.core.common.data_summary import distribution, missing_counts
from optvol.core.options.ingest.clean import FLAG_COLUMNS, OPTION_QUOTES_DTYPES
from optvol.core.options.plots import plot_option_data_distributions
from optvol.core.options.summary import summarize_option_quotes
from optvol.core.volatility.market import clean_market
from optvol.core.volatility.plots import plot_market_data_distributions
from optvol.core.volatility.summary import summarize_market_features
from optvol_tests.builders import option_quotes_frame, volatile_market_frame


def hand_quotes() -> pd.DataFrame:
    """Seven quotes with known buckets: spot 100; two unusable (bid 0, crossed)."""
    rows = [  # quote_date, expiration, type, strike, bid, ask, iv, flag
        ("2020-12-31", "2021-01-05", "C", 100.0, 1.0, 1.2, 0.20, None),  # <=7, atm
        ("2020-12-31", "2021-03-31", "P", 120.0, 20.0, 20.5, 0.30, None),  # 31-90, deep_itm
        ("2021-01-04", "2021-01-15", "C", 110.0, 0.5, 0.6, 0.25, None),  # 8-30, otm
        ("2021-01-04", "2021-06-18", "P", 80.0, 0.8, 1.0, np.nan, None),  # >90, deep_otm
        ("2021-01-05", "2021-01-15", "C", 110.0, 0.4, 0.5, 0.22, None),  # 8-30, otm
        ("2021-01-05", "2021-01-15", "P", 100.0, 0.0, 0.1, 0.40, "flag_nonpositive_bid"),
        ("2021-01-05", "2021-02-19", "C", 95.0, 2.0, 1.0, np.nan, "flag_crossed"),
    ]
    names = ["quote_date", "expiration", "option_type", "strike", "bid", "ask", "iv", "flag"]
    frame = pd.DataFrame(rows, columns=names)
    for column in ("quote_date", "expiration"):
        frame[column] = pd.to_datetime(frame[column])
    frame["underlying_last"] = 100.0
    frame["mid"] = (frame["bid"] + frame["ask"]) / 2
    frame["spread"] = frame["ask"] - frame["bid"]
    frame["dte_days"] = (frame["expiration"] - frame["quote_date"]).dt.days
    frame["tau"] = frame["dte_days"] / 365.0
    frame["moneyness"] = frame["strike"] / frame["underlying_last"]
    for flag in FLAG_COLUMNS:
        frame[flag] = frame["flag"] == flag
    frame["usable"] = frame["flag"].isna()
    for column in ("last", "volume", "open_interest", "delta", "gamma", "vega", "theta", "rho"):
        frame[column] = np.nan
    frame["bid_size"] = frame["ask_size"] = 10
    frame["source_file"], frame["source_row"] = "hand.txt", np.arange(len(frame))
    frame["root"] = ""
    frame["forward"] = frame["carry"] = np.nan
    frame["forward_pairs"] = 0
    return frame[list(OPTION_QUOTES_DTYPES)].astype(OPTION_QUOTES_DTYPES)


@pytest.fixture(scope="module")
def market() -> pd.DataFrame:
    return clean_market(volatile_market_frame(n_days=500, vix_from=200, seed=3))[0]


def test_distribution_of_1_to_100_ignores_missing_and_infinite_values():
    values = [*range(1, 101), np.nan, np.inf, -np.inf, None]
    stats = distribution(values)
    assert list(stats) == ["rows", "mean", "std", "min", "p05", "p25", "p50", "p75", "p95", "max"]
    assert stats["rows"] == 100 and stats["mean"] == 50.5 and stats["p50"] == 50.5
    assert stats["min"] == 1.0 and stats["max"] == 100.0 and stats["p05"] == pytest.approx(5.95)
    assert stats["std"] == pytest.approx(np.std(np.arange(1, 101), ddof=1))
    assert all(type(v) is float for k, v in stats.items() if k != "rows")


def test_distribution_moments_match_pandas_and_empty_gives_none():
    x = np.random.default_rng(0).lognormal(0.0, 0.8, 300)
    stats = distribution(x, (0.01, 0.99), moments=True)
    assert {"p01", "p99"} <= stats.keys()
    assert stats["skew"] == pytest.approx(pd.Series(x).skew()) and stats["skew"] > 1
    assert stats["excess_kurtosis"] == pytest.approx(pd.Series(x).kurt())
    empty = distribution([np.nan, np.inf], moments=True)
    assert empty["rows"] == 0 and set(empty.values()) == {0, None}
    assert distribution([3.0])["std"] is None


def test_missing_counts_count_nan_none_and_nat_in_column_order():
    frame = pd.DataFrame(
        {
            "x": [1.0, np.nan, None],
            "label": ["a", None, "b"],
            "day": pd.to_datetime(["2020-01-01", None, None]),
            "n": [1, 2, 3],
        }
    )
    counts = missing_counts(frame)
    assert counts == {"x": 2, "label": 1, "day": 2, "n": 0}
    assert list(counts) == ["x", "label", "day", "n"]


def test_option_summary_counts_of_a_hand_made_table():
    summary = summarize_option_quotes(hand_quotes())
    assert (summary["rows"], summary["usable_rows"], summary["quote_dates"]) == (7, 5, 3)
    assert (summary["first_date"], summary["last_date"]) == ("2020-12-31", "2021-01-05")
    assert summary["contracts"] == 4  # the 110 call of Jan 15 is quoted twice
    assert summary["by_year"] == {
        "2020": {"rows": 2, "usable_rows": 2, "quote_dates": 1},
        "2021": {"rows": 5, "usable_rows": 3, "quote_dates": 2},
    }
    assert summary["by_expiry_bucket"] == {
        "<=7": {"calls": 1, "puts": 0, "rows": 1},
        "8-30": {"calls": 2, "puts": 0, "rows": 2},
        "31-90": {"calls": 0, "puts": 1, "rows": 1},
        ">90": {"calls": 0, "puts": 1, "rows": 1},
    }
    by_moneyness = {k: (v["calls"], v["puts"]) for k, v in summary["by_moneyness_bucket"].items()}
    assert by_moneyness == {
        "deep_otm": (0, 1),
        "otm": (2, 0),
        "atm": (1, 0),
        "itm": (0, 0),
        "deep_itm": (0, 1),
    }
    assert summary["flags"] == {
        f: int(f in ("flag_nonpositive_bid", "flag_crossed")) for f in FLAG_COLUMNS
    }
    assert summary["missing_values"]["iv"] == 2 and summary["missing_values"]["strike"] == 0
    assert summary["spread"]["call"]["rows"] == 3
    assert summary["spread"]["call"]["max"] == pytest.approx(0.2)
    assert summary["relative_spread"]["put"]["min"] == pytest.approx(0.5 / 20.25)
    assert summary["relative_spread"]["put"]["max"] == pytest.approx(0.2 / 0.9)
    assert summary["iv"]["put"]["rows"] == 1 and summary["iv"]["put"]["std"] is None
    assert summary["iv"]["call"]["mean"] == pytest.approx((0.20 + 0.25 + 0.22) / 3)
    json.dumps(summary, allow_nan=False)


def test_option_summary_of_a_full_table_is_json_and_empty_gives_zeros():
    quotes = option_quotes_frame(n_days=5)
    summary = summarize_option_quotes(quotes)
    assert summary["usable_rows"] == len(quotes)
    assert sum(b["rows"] for b in summary["by_moneyness_bucket"].values()) == len(quotes)
    json.dumps(summary, allow_nan=False)
    empty = summarize_option_quotes(quotes.iloc[:0])
    assert empty["rows"] == empty["contracts"] == 0 and empty["by_year"] == {}
    assert empty["first_date"] is None
    assert all(b["rows"] == 0 for b in empty["by_expiry_bucket"].values())
    assert empty["iv"]["call"]["mean"] is None
    json.dumps(empty, allow_nan=False)
    with pytest.raises(ValueError, match="underlying_last"):
        summarize_option_quotes(quotes.drop(columns="underlying_last"))


def test_market_summary_statistics_and_vix_correlations(market: pd.DataFrame):
    summary = summarize_market_features(market)
    json.dumps(summary, allow_nan=False)
    vix = market["vix_close"].to_numpy() / 100
    assert summary["rows"] == len(market) == sum(y["rows"] for y in summary["by_year"].values())
    assert summary["rows_with_vix"] == int(np.isfinite(vix).sum()) == 300
    correlation = summary["vix_rv_correlation"]
    both = np.isfinite(vix) & market["rv_21"].notna().to_numpy()
    assert correlation["rows"] == both.sum()
    expected = np.corrcoef(vix[both], market["rv_21"].to_numpy()[both])[0, 1]
    assert correlation["vix_vs_rv21"] == pytest.approx(expected)
    target = market["target_rv_21"].to_numpy()
    ahead = np.isfinite(vix) & np.isfinite(target)
    assert correlation["rows_ahead"] == ahead.sum() == 300 - 21
    assert correlation["vix_vs_rv21_ahead"] == pytest.approx(
        np.corrcoef(vix[ahead], target[ahead])[0, 1]
    )
    assert correlation["log_vix_vs_log_rv21_ahead"] == pytest.approx(
        np.corrcoef(np.log(vix[ahead]), np.log(target[ahead]))[0, 1]
    )
    daily = summary["daily_log_return"]
    assert daily["annualized_vol"] == pytest.approx(market["log_return"].std() * math.sqrt(252))
    assert daily["excess_kurtosis"] == pytest.approx(market["log_return"].kurt())
    assert summary["vix"]["mean"] == pytest.approx(np.nanmean(vix))
    assert summary["vrp"]["share_positive"] == pytest.approx((market["vrp"].dropna() > 0).mean())


def test_market_summary_with_little_vix_empty_and_missing_column(market: pd.DataFrame):
    sparse = market.assign(vix_close=np.where(market.index.isin([100, 101]), 20.0, np.nan))
    correlation = summarize_market_features(sparse)["vix_rv_correlation"]
    assert correlation["rows"] == 2 and correlation["vix_vs_rv21"] is None
    empty = summarize_market_features(market.iloc[:0])
    assert (empty["rows"], empty["rows_with_vix"], empty["first_date"]) == (0, 0, None)
    assert empty["daily_log_return"]["annualized_vol"] is None
    json.dumps(empty, allow_nan=False)
    with pytest.raises(ValueError, match="target_rv_21"):
        summarize_market_features(market.drop(columns="target_rv_21"))


def test_distribution_charts_write_identical_pngs(tmp_path, market: pd.DataFrame):
    quotes = option_quotes_frame(n_days=10)
    no_vix = market.assign(vix_close=np.nan)
    for name, draw, data in [
        ("options", plot_option_data_distributions, quotes),
        ("market", plot_market_data_distributions, market),
        ("market_no_vix", plot_market_data_distributions, no_vix),
    ]:
        first, second = tmp_path / f"{name}_1.png", tmp_path / f"{name}_2.png"
        assert draw(data, first) == first
        draw(data, second)
        assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert first.read_bytes() == second.read_bytes()
    assert (tmp_path / "market_1.png").read_bytes() != (
        tmp_path / "market_no_vix_1.png"
    ).read_bytes()
    with pytest.raises(ValueError, match="usable"):
        plot_option_data_distributions(quotes.assign(usable=False), tmp_path / "none.png")
